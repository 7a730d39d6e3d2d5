-- Questions answered "not found" for weak evidence, one row per distinct question (by the SHA-256
-- of its normalised text) with how often and when last it was asked: the content gaps operators
-- read at GET /api/gaps.
CREATE TABLE IF NOT EXISTS declined_questions (
    question_key TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    times BIGINT NOT NULL,
    last_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS declined_questions_times ON declined_questions (times, last_at);
