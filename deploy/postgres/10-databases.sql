-- The databases of the services after the first (POSTGRES_DB makes that one); run once,
-- when the postgres volume is new.
CREATE DATABASE storage OWNER cohort;
