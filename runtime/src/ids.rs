//! Typed ids: a `UserId` is never passed where a `WorkspaceId` is expected.
//! The runtime declares the ids identity and tenancy need; services declare
//! their own with [`typed_id!`], and the ids of places several services
//! refer to are `ocomms-domain`'s.
//!
//! Ids are UUIDv7 (time-ordered, so indexes stay compact), stored as
//! PostgreSQL `uuid`, and carried by the protos as strings; [`parse`] turns a
//! string from a request into an id or a validation error naming the field.

use crate::ServiceError;

/// Declares an id newtype over `Uuid` usable in Diesel queries and serde.
#[macro_export]
macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s.trim()).map(Self)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <uuid::Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <uuid::Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes).map(Self)
            }
        }
    )+};
}

typed_id! {
    /// A user account (owned by svc-auth).
    UserId;
    /// A login session (svc-auth).
    SessionId;
    /// A workspace, the unit of tenancy (svc-auth).
    WorkspaceId;
}

/// Declares an enum stored and sent as fixed lower-case words (roles,
/// statuses, policies): `parse` and `as_str`, `Display`, serde's
/// `Serialize` (the word), and Diesel's
/// `Text` both ways (a word the enum does not know, read from the
/// database, is an error, never a default).
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                Self::parse(&s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)).into())
            }
        }
    };
}

/// Parses an id from a request field; a malformed one is a validation error.
pub fn parse<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ServiceError> {
    if value.trim().is_empty() {
        return Err(ServiceError::validation(field, "is required"));
    }
    value.parse().map_err(|_| ServiceError::validation(field, "is not a valid id"))
}

/// Parses an optional id field; an empty string counts as absent.
pub fn parse_opt<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<Option<T>, ServiceError> {
    match value {
        Some(v) if !v.trim().is_empty() => parse(field, v).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_names_bad_fields() {
        let id = UserId::new();
        assert_eq!(parse::<UserId>("userId", &id.to_string()).expect("valid"), id);
        let err = parse::<WorkspaceId>("workspaceId", "not-a-uuid").expect_err("invalid");
        assert_eq!(err.code, crate::ErrorCode::Validation);
        assert!(err.message.contains("workspaceId"));
        assert!(parse_opt::<WorkspaceId>("workspaceId", Some("")).expect("empty is absent").is_none());
    }
}
