-- Global directory: the one table every region needs, in a multi-region Spanner instance.
-- It holds pseudonymous routing data only: which region and cell serve a customer id. No
-- name, email, phone, address, birth date or any other personal data lives here; that stays
-- in the cell databases, inside each region's residency.

-- CustomerId is the random UUIDv4 the cell database uses, so the key does not hotspot and
-- reveals nothing about the customer. Bucket is rollout.shards.bucket_for(CustomerId), kept so
-- a bucket move can update every affected row.
CREATE TABLE CustomerDirectory (
  CustomerId STRING(36) NOT NULL,
  HomeRegion STRING(32) NOT NULL,
  Cell STRING(32) NOT NULL,
  Bucket INT64 NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT CustomerDirectoryBucketNonNegative CHECK (Bucket >= 0),
) PRIMARY KEY (CustomerId);

-- Rebalancing a bucket updates the directory rows of that bucket in that region.
CREATE INDEX CustomerDirectoryByBucket ON CustomerDirectory (HomeRegion, Bucket);

-- Bucket moves (rollout/moves.py): one row per bucket of a region that is moving or has
-- moved, the move's state machine. While State is before 'switched' the source cell holds the
-- bucket fenced (its BucketFences row) and the rows here still point at it; the switch updates
-- the bucket's CustomerDirectory rows, records the new shard map and sets 'switched' in one
-- transaction. States, in order: fencing, copying, copied, verified, switched, serving,
-- cleaned; or undoing, undone. ReadTimestamp is the copy's snapshot (the source fence's commit
-- timestamp): a resumed copy and the verify read exactly that version. Bucket (0..B-1, at most
-- 65,536 values) leads the key, so a region's moves spread over the key space.
CREATE TABLE BucketMoves (
  Bucket INT64 NOT NULL,
  HomeRegion STRING(32) NOT NULL,
  MoveId STRING(36) NOT NULL,
  FromCell STRING(32) NOT NULL,
  ToCell STRING(32) NOT NULL,
  State STRING(16) NOT NULL,
  ReadTimestamp TIMESTAMP,
  -- Row count and checksum per table, equal on both sides at ReadTimestamp (the verify).
  Verified JSON,
  MapVersion STRING(16),
  SwitchedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true),
  -- The move this one undoes (the reverse workflow after a switch).
  ReverseOf STRING(36),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT BucketMovesBucketRange CHECK (Bucket >= 0 AND Bucket < 65536),
  CONSTRAINT BucketMovesState CHECK (State IN ('fencing', 'copying', 'copied', 'verified',
    'switched', 'serving', 'cleaned', 'undoing', 'undone')),
) PRIMARY KEY (Bucket, HomeRegion);

-- A run lists its region's moves through this index instead of reading every region's.
CREATE INDEX BucketMovesByRegion ON BucketMoves (HomeRegion, State);

-- Every shard map a move recorded: the artifact exactly as rollout.shards.publish_artifact
-- writes it, keyed by its version (the first 16 hex digits of its SHA-256: uniformly spread,
-- so no hot split). A region's current map is its row with the latest RecordedAt.
CREATE TABLE ShardMapVersions (
  Version STRING(16) NOT NULL,
  HomeRegion STRING(32) NOT NULL,
  Artifact STRING(MAX) NOT NULL,
  RecordedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Version);

CREATE INDEX ShardMapVersionsByRegion ON ShardMapVersions (HomeRegion, RecordedAt DESC);
