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
