-- Search: one document per live person and company, written in the same transaction as the
-- record. `fields` keeps each searchable value under the field whose rule governs it, for
-- ranking, highlighting and leaving out what a caller may not see. `text` holds the folded
-- words, and `words` their tsvector, whose GIN index answers a word's beginning; a substring is
-- found through the dictionary's words that contain it, by a trigram index on the dictionary.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_documents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    owner_id BIGINT,
    fields jsonb NOT NULL,
    text TEXT NOT NULL,
    words TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE UNIQUE INDEX search_documents_record ON search_documents (workspace_id, object, record_id);
CREATE INDEX search_documents_words ON search_documents USING gin (words);

-- The typo dictionary: every word of the workspace's documents with how many hold it, and
-- each word's one-deletion variants, so a misspelt query word finds its corrections with one
-- indexed lookup. A word no document holds any more is removed with its variants.
CREATE TABLE search_terms (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, term)
);
CREATE INDEX search_terms_trigrams ON search_terms USING gin (term gin_trgm_ops);

CREATE TABLE search_term_variants (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (workspace_id, variant, term)
);
