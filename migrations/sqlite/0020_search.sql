-- Search: one document per live person and company, written in the same transaction as the
-- record. `fields` keeps each searchable value under the field whose rule governs it, for
-- ranking, highlighting and leaving out what a caller may not see; `search_words` indexes the
-- folded words with prefix indexes, so a word's beginning is an index lookup (a substring is
-- found through the dictionary's words that contain it). Its rowid is the document's id; being
-- contentless, it stores no second copy of the text.
CREATE TABLE search_documents (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    owner_id INTEGER,
    fields TEXT NOT NULL
);
CREATE UNIQUE INDEX search_documents_record ON search_documents (workspace_id, object, record_id);

CREATE VIRTUAL TABLE search_words USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);

-- The typo dictionary: every word of the workspace's documents with how many hold it, and
-- each word's one-deletion variants, so a misspelt query word finds its corrections with one
-- indexed lookup. A word no document holds any more is removed with its variants.
CREATE TABLE search_terms (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    documents INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, term)
) WITHOUT ROWID;

CREATE TABLE search_term_variants (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (workspace_id, variant, term)
) WITHOUT ROWID;
