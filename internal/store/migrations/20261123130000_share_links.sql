-- Ours (not in Clapshot): guest share links. A link gives people without
-- an account access to one media file or one folder (an organizer's).
-- Only a hash of each secret is kept: the link's token (its id and its
-- secret) is shown once, when it is made. Clapshot ignores these tables;
-- deleting a media file (in either server) deletes its links, and their
-- guests and the guests' comment records with them.
CREATE TABLE share_links (
    id VARCHAR(16) NOT NULL PRIMARY KEY,      -- the public part of the token
    secret_sha256 VARCHAR(64) NOT NULL,       -- hex SHA-256 of the secret part
    media_file_id VARCHAR REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    folder_id VARCHAR,                        -- the organizer's folder id (no foreign key: its table is the organizer's)
    folder_title VARCHAR,                     -- the folder's name when the link was made, for listings
    created_by VARCHAR(255) NOT NULL,         -- user id (no foreign key: the link outlives nothing but its media)
    created_by_admin BOOLEAN NOT NULL DEFAULT 0,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    expires DATETIME,                         -- NULL: never
    revoked DATETIME,                         -- set once, never cleared
    permission VARCHAR(16) NOT NULL,          -- view | comment | download
    passphrase_hash VARCHAR,                  -- argon2id in PHC form, or NULL for none
    label VARCHAR NOT NULL DEFAULT '',        -- the owner's note ("for the agency")
    CHECK ((media_file_id IS NULL) <> (folder_id IS NULL)),
    CHECK (permission IN ('view', 'comment', 'download'))
);
CREATE INDEX ix_share_links_media_file_id ON share_links (media_file_id);
CREATE INDEX ix_share_links_created_by ON share_links (created_by);

-- One row per guest who entered a name (and the passphrase) on a link's
-- page; the browser keeps "<id>.<secret>" in a cookie.
CREATE TABLE share_guests (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    link_id VARCHAR(16) NOT NULL REFERENCES share_links(id) ON UPDATE CASCADE ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,               -- as the guest typed it; comments show "<name> (guest)"
    secret_sha256 VARCHAR(64) NOT NULL,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL
);
CREATE INDEX ix_share_guests_link_id ON share_guests (link_id);

-- Which guest wrote a comment. comments.user_id stays NULL for guests
-- (username_ifnull carries "<name> (guest)", as Clapshot shows it), so
-- this is how a guest may edit or delete their own comments.
CREATE TABLE share_comments (
    comment_id INTEGER NOT NULL PRIMARY KEY REFERENCES comments(id) ON UPDATE CASCADE ON DELETE CASCADE,
    link_id VARCHAR(16) NOT NULL REFERENCES share_links(id) ON UPDATE CASCADE ON DELETE CASCADE,
    guest_id INTEGER NOT NULL REFERENCES share_guests(id) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_share_comments_guest_id ON share_comments (guest_id);
CREATE INDEX ix_share_comments_link_id ON share_comments (link_id);
