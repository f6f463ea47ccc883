-- Run once by the postgres image on an empty volume: a database per service after the
-- first (POSTGRES_DB creates notifications).
CREATE DATABASE analytics;
