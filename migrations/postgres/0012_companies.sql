-- Companies (accounts): the organisations people work for, with their contact details kept on
-- the row like people's, and the many-to-many links between people and companies, each with
-- the person's title there. A link goes when either side is purged.

CREATE TABLE companies (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name text NOT NULL,
    domain text,
    emails jsonb NOT NULL DEFAULT '[]',
    phones jsonb NOT NULL DEFAULT '[]',
    street text,
    street2 text,
    city text,
    region text,
    postal_code text,
    country text,
    industry text,
    employees bigint,
    lifecycle_stage text,
    owner_id bigint,
    source text,
    tags jsonb NOT NULL DEFAULT '[]',
    social jsonb NOT NULL DEFAULT '{}',
    external_id text,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX companies_external_id ON companies (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX companies_domain ON companies (workspace_id, domain);
CREATE INDEX companies_trash ON companies (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE company_people (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    company_id bigint NOT NULL,
    person_id bigint NOT NULL,
    title text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, company_id, person_id),
    FOREIGN KEY (workspace_id, company_id) REFERENCES companies (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, person_id) REFERENCES people (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX company_people_person ON company_people (workspace_id, person_id);
