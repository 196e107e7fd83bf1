-- The ledger's schema as commit 83789a2 created it on PostgreSQL (metadata.create_all on every open, no alembic_version):
-- every ledger written before migrations has these tables. Frozen: generated once with SQLAlchemy's
-- create_mock_engine from that commit's pipeline/ledger.py, and checked identical to a real create_all (pg_dump --schema-only).

CREATE TABLE runs (
	id SERIAL NOT NULL, 
	year INTEGER NOT NULL, 
	started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITHOUT TIME ZONE, 
	new_submissions INTEGER, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_runs_year ON runs (year);

CREATE TABLE submissions (
	id SERIAL NOT NULL, 
	year INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	school VARCHAR(32), 
	status VARCHAR(16) NOT NULL, 
	arrived_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	processed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	errors INTEGER NOT NULL, 
	warnings INTEGER NOT NULL, 
	duplicate_of INTEGER, 
	archive TEXT NOT NULL, 
	paths TEXT NOT NULL, 
	feedback_at TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(duplicate_of) REFERENCES submissions (id)
);

CREATE INDEX ix_submissions_sha256 ON submissions (sha256);

CREATE INDEX ix_submissions_school ON submissions (school);

CREATE INDEX ix_submissions_year ON submissions (year);

CREATE TABLE files (
	id SERIAL NOT NULL, 
	year INTEGER NOT NULL, 
	path TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	mtime FLOAT NOT NULL, 
	first_seen TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	submission_id INTEGER NOT NULL, 
	present BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_files_year_path ON files (year, path);

CREATE INDEX ix_files_year ON files (year);

CREATE INDEX ix_files_submission_id ON files (submission_id);

CREATE TABLE findings (
	id SERIAL NOT NULL, 
	submission_id INTEGER NOT NULL, 
	code VARCHAR(8) NOT NULL, 
	severity VARCHAR(8) NOT NULL, 
	sheet TEXT NOT NULL, 
	cell TEXT NOT NULL, 
	value TEXT NOT NULL, 
	message TEXT NOT NULL, 
	hint TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_findings_submission_id ON findings (submission_id);

CREATE TABLE title_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	school_name TEXT, 
	version TEXT, 
	respondent TEXT, 
	position TEXT, 
	phone TEXT, 
	email TEXT, 
	filled_on DATE, 
	library TEXT, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_title_data_submission_id ON title_data (submission_id);

CREATE TABLE item_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	item VARCHAR(8) NOT NULL, 
	status TEXT NOT NULL, 
	done_on DATE, 
	document TEXT, 
	document_details TEXT, 
	quantity INTEGER, 
	links TEXT, 
	comment TEXT, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_item_data_submission_id ON item_data (submission_id);

CREATE TABLE staff_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	row INTEGER NOT NULL, 
	person TEXT, 
	position TEXT, 
	rate FLOAT, 
	employment TEXT, 
	education TEXT, 
	years INTEGER, 
	kpk BOOLEAN, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_staff_data_submission_id ON staff_data (submission_id);

CREATE TABLE course_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	row INTEGER NOT NULL, 
	person TEXT, 
	programme TEXT, 
	title TEXT, 
	organisation TEXT, 
	hours INTEGER, 
	finished_on DATE, 
	document TEXT, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_course_data_submission_id ON course_data (submission_id);

CREATE TABLE award_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	row INTEGER NOT NULL, 
	person TEXT, 
	kind TEXT, 
	level TEXT, 
	status TEXT, 
	date DATE, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_award_data_submission_id ON award_data (submission_id);

CREATE TABLE indicator_data (
	submission_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	school VARCHAR(32) NOT NULL, 
	code VARCHAR(8) NOT NULL, 
	value FLOAT, 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_indicator_data_submission_id ON indicator_data (submission_id);
