-- A crawled page whose text another page in its directory already has (one page served under two
-- addresses, `guide/` and `guide/index.html`) is not indexed twice: the crawl looks the text's hash
-- up before writing a page.
CREATE INDEX IF NOT EXISTS documents_content_hash ON documents (content_hash);
