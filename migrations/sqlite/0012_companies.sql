-- Companies (accounts): the organisations people work for, with their contact details kept on
-- the row like people's, and the many-to-many links between people and companies, each with
-- the person's title there. A link goes when either side is purged.

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    domain TEXT,
    emails TEXT NOT NULL DEFAULT '[]',
    phones TEXT NOT NULL DEFAULT '[]',
    street TEXT,
    street2 TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    industry TEXT,
    employees INTEGER,
    lifecycle_stage TEXT,
    owner_id INTEGER,
    source TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    social TEXT NOT NULL DEFAULT '{}',
    external_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    FOREIGN KEY (workspace_id, owner_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX companies_external_id ON companies (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX companies_domain ON companies (workspace_id, domain);
CREATE INDEX companies_trash ON companies (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE company_people (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    title TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, company_id, person_id)
);
CREATE INDEX company_people_person ON company_people (workspace_id, person_id);
