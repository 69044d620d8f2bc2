-- The organisation directory, loaded from deploy/directory/<municipality>.yaml.
--
-- Decisions are authorised against it (R-01, R-13), and old decisions name
-- the people and units of their day: rows are never deleted, a unit or person
-- gone from the file is marked inactive. The circular references (a unit's
-- manager is a person, a person belongs to a unit) are checked at commit, so
-- one load can insert both sides in any order.

CREATE TABLE municipalities (
    id                      text PRIMARY KEY,
    name                    text        NOT NULL,
    country                 text        NOT NULL CHECK (country IN ('SE', 'NO')),
    timezone                text        NOT NULL,
    diarium_prefix          text        NOT NULL,
    social_media_policy_url text,
    communications_unit     text        NOT NULL,
    loaded_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    municipality_id text    NOT NULL REFERENCES municipalities (id),
    id              text    NOT NULL,
    name            text    NOT NULL,
    email           text    NOT NULL,
    unit            text,
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (municipality_id, id)
);

CREATE TABLE units (
    municipality_id text    NOT NULL REFERENCES municipalities (id),
    id              text    NOT NULL,
    name            text    NOT NULL,
    kind            text    NOT NULL,
    manager         text    NOT NULL,
    deputy          text,
    web_page        text,
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (municipality_id, id),
    FOREIGN KEY (municipality_id, manager) REFERENCES people (municipality_id, id)
        DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (municipality_id, deputy) REFERENCES people (municipality_id, id)
        DEFERRABLE INITIALLY DEFERRED
);

ALTER TABLE people
    ADD FOREIGN KEY (municipality_id, unit) REFERENCES units (municipality_id, id)
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE municipalities
    ADD FOREIGN KEY (id, communications_unit) REFERENCES units (municipality_id, id)
        DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE roles (
    municipality_id text NOT NULL,
    person_id       text NOT NULL,
    role            text NOT NULL CHECK (role IN ('communications', 'registrar')),
    PRIMARY KEY (municipality_id, person_id, role),
    FOREIGN KEY (municipality_id, person_id) REFERENCES people (municipality_id, id)
);

CREATE INDEX units_manager ON units (municipality_id, manager);
CREATE INDEX units_deputy ON units (municipality_id, deputy);
