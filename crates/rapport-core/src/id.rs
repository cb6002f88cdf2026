//! Typed identifiers: an id of one entity cannot be passed where another's is expected.

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

define_id!(
    /// A tenant. Every business row carries one and every query is scoped by it.
    WorkspaceId
);
define_id!(
    /// A person who signs in to Rapport (not a customer).
    UserId
);
define_id!(
    /// A row of the durable jobs table.
    JobId
);
define_id!(
    /// A customer: a person the business knows (not a user of Rapport).
    PersonId
);
define_id!(
    /// A customer organisation.
    CompanyId
);
define_id!(
    /// A workspace's own field on people or companies.
    FieldId
);
define_id!(
    /// A purchase: an order with its line items.
    OrderId
);
define_id!(
    /// An entry of the product catalogue.
    ProductId
);
define_id!(
    /// What a visitor put in their cart, kept from their e-commerce events.
    CartId
);
