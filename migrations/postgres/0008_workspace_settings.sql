-- Workspace settings: the currency amounts default to, the time zone relative dates are read in,
-- the locale pages are formatted for, and the country national phone numbers are read in.

ALTER TABLE workspaces ADD COLUMN default_currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE workspaces ADD COLUMN locale TEXT NOT NULL DEFAULT 'en-US';
ALTER TABLE workspaces ADD COLUMN country TEXT NOT NULL DEFAULT 'US';
