//! `link_previews`: fetched pages, cached per URL.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::previews::Preview;

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    image_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    site_name: Option<String>,
}

/// A preview fetched since `fresh_after`.
pub async fn cached(conn: &mut AsyncPgConnection, url: &str, fresh_after: DateTime<Utc>) -> diesel::QueryResult<Option<Preview>> {
    let row: Option<Row> =
        diesel::sql_query("SELECT url, title, description, image_url, site_name FROM link_previews WHERE url = $1 AND created_at > $2")
            .bind::<Text, _>(url)
            .bind::<Timestamptz, _>(fresh_after)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|r| Preview { url: r.url, title: r.title, description: r.description, image_url: r.image_url, site_name: r.site_name }))
}

pub async fn put(conn: &mut AsyncPgConnection, p: &Preview) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO link_previews (id, url, title, description, image_url, site_name) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (url) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
           image_url = EXCLUDED.image_url, site_name = EXCLUDED.site_name, created_at = now()",
    )
    .bind::<SqlUuid, _>(uuid::Uuid::now_v7())
    .bind::<Text, _>(&p.url)
    .bind::<Nullable<Text>, _>(&p.title)
    .bind::<Nullable<Text>, _>(&p.description)
    .bind::<Nullable<Text>, _>(&p.image_url)
    .bind::<Nullable<Text>, _>(&p.site_name)
    .execute(conn)
    .await
    .map(drop)
}
