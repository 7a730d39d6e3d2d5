-- The lexical index reads a dotted or slashed name as its parts, as the SQLite store's FTS5 does.
-- Postgres's parser keeps `sqlalchemy.orm.synonym_for`, `/usr/bin`, `3.11` and `a@b.org` whole (host,
-- file, version and email tokens), so the query `orm.synonym_for`, whose words are searched one by
-- one, never matched the page that defines it. These characters become spaces before parsing;
-- `translate`, unlike a regular expression's classes, does not depend on the database's locale.
-- The column is generated, so it is dropped and added again (the table is rewritten once).
ALTER TABLE chunks DROP COLUMN search;
ALTER TABLE chunks ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('docent', translate(title, './:@<>', '      ')), 'A') ||
    setweight(to_tsvector('docent', translate(heading, './:@<>', '      ')), 'B') ||
    setweight(to_tsvector('docent', translate(text, './:@<>', '      ')), 'D')) STORED;
CREATE INDEX chunks_search ON chunks USING GIN (search);
