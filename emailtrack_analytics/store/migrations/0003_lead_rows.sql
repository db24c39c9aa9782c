
-- the `leads` view, materialised by every refresh (reports read it many times; computing it
-- groups every lead copy): attribution/sql/020_leads.sql computes it as `leads_computed`
CREATE TABLE lead_rows (
    lead_key VARCHAR,
    received_at TIMESTAMP,
    month VARCHAR,
    portal VARCHAR,
    point_of_sale VARCHAR,
    channel VARCHAR,
    copies BIGINT,
    local_date DATE,
    local_hour INTEGER,
    weekday INTEGER,
    "group" VARCHAR
);
