//! Which field a column most likely means, from its header: the person vocabulary's own keys
//! and labels, common spellings, and the column names of HubSpot and Salesforce exports.
//! Headers are compared by their letters and digits only, lowercased, so case, spaces, `_`,
//! `-`, `.` and `/` never matter ("E-mail", "e_mail" and "EMAIL" are one).
//!
//! Besides the vocabulary of `crate::person::fields()`, three keys name what a person
//! import carries beside the person itself, as the vCard reader's headers do: `company` (the
//! company they work for), `title` (their title there) and `note`.

use crate::person::fields;

/// The import keys beyond the person vocabulary; see the module documentation.
pub const EXTRA_KEYS: [&str; 3] = ["company", "title", "note"];

/// Spellings of each key, written already folded (lowercase letters and digits). The
/// vocabulary's own keys and labels need no entry.
const ALIASES: &[(&str, &str)] = &[
    ("first_name", "firstname"),
    ("first_name", "givenname"),
    ("first_name", "forename"),
    ("first_name", "prenom"),
    ("first_name", "first"),
    ("last_name", "lastname"),
    ("last_name", "surname"),
    ("last_name", "familyname"),
    ("last_name", "nom"),
    ("last_name", "last"),
    ("email", "emailaddress"),
    ("email", "mail"),
    ("email", "primaryemail"),
    ("emails", "workemail"),
    ("emails", "homeemail"),
    ("emails", "otheremail"),
    ("emails", "secondaryemail"),
    ("emails", "additionalemailaddresses"),
    ("phone", "phonenumber"),
    ("phone", "telephone"),
    ("phone", "tel"),
    ("phone", "primaryphone"),
    ("phones", "mobile"),
    ("phones", "mobilephone"),
    ("phones", "mobilephonenumber"),
    ("phones", "mobilenumber"),
    ("phones", "cell"),
    ("phones", "cellphone"),
    ("phones", "workphone"),
    ("phones", "homephone"),
    ("phones", "otherphone"),
    ("birthday", "dateofbirth"),
    ("birthday", "birthdate"),
    ("birthday", "dob"),
    ("birthday", "birth"),
    ("address.street", "street"),
    ("address.street", "streetaddress"),
    ("address.street", "address"),
    ("address.street", "address1"),
    ("address.street", "addressline1"),
    ("address.street", "mailingstreet"),
    ("address.street2", "address2"),
    ("address.street2", "addressline2"),
    ("address.street2", "street2"),
    ("address.city", "city"),
    ("address.city", "town"),
    ("address.city", "mailingcity"),
    ("address.region", "state"),
    ("address.region", "region"),
    ("address.region", "province"),
    ("address.region", "county"),
    ("address.region", "stateregion"),
    ("address.region", "mailingstate"),
    ("address.postal_code", "zip"),
    ("address.postal_code", "zipcode"),
    ("address.postal_code", "postcode"),
    ("address.postal_code", "postalcode"),
    ("address.postal_code", "mailingpostalcode"),
    ("address.country", "country"),
    ("address.country", "countryregion"),
    ("address.country", "mailingcountry"),
    ("language", "preferredlanguage"),
    ("time_zone", "timezone"),
    ("lifecycle_stage", "lifecyclestage"),
    ("lifecycle_stage", "stage"),
    ("owner", "contactowner"),
    ("owner", "ownername"),
    ("owner", "accountowner"),
    ("source", "leadsource"),
    ("source", "originalsource"),
    ("tags", "tag"),
    ("tags", "labels"),
    ("external_id", "recordid"),
    ("external_id", "id"),
    ("external_id", "contactid"),
    ("external_id", "uid"),
    ("company", "companyname"),
    ("company", "accountname"),
    ("company", "organization"),
    ("company", "organisation"),
    ("company", "employer"),
    ("title", "jobtitle"),
    ("title", "position"),
    ("title", "role"),
    ("note", "notes"),
    ("note", "comment"),
    ("note", "comments"),
    ("note", "description"),
];

/// The field-vocabulary key (or custom-field key) a column header most likely means, or
/// `None`. A header that is a vocabulary key or label wins, then one that is a custom key,
/// then a known spelling.
pub fn field_for(header: &str, custom_keys: &[&str]) -> Option<String> {
    let folded = fold(header);
    if folded.is_empty() {
        return None;
    }
    if let Some(field) = fields().iter().find(|f| fold(f.key) == folded || fold(f.label) == folded) {
        return Some(field.key.to_owned());
    }
    if let Some(key) = EXTRA_KEYS.iter().find(|key| fold(key) == folded) {
        return Some((*key).to_owned());
    }
    if let Some(key) = custom_keys.iter().find(|key| fold(key) == folded) {
        return Some((*key).to_owned());
    }
    ALIASES.iter().find(|(_, alias)| *alias == folded).map(|(key, _)| (*key).to_owned())
}

fn fold(raw: &str) -> String {
    raw.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suggested_key_is_a_vocabulary_key_or_an_extra_one() {
        for (key, alias) in ALIASES {
            assert!(fields().iter().any(|f| f.key == *key) || EXTRA_KEYS.contains(key), "{key}");
            assert_eq!(fold(alias), *alias, "{alias} must be written folded");
        }
    }

    #[test]
    fn common_spellings_are_recognised_whatever_their_case_and_punctuation() {
        let cases = [
            ("first_name", "first_name"),
            ("First Name", "first_name"),
            ("E-mail", "email"),
            ("E_MAIL", "email"),
            ("Mobile", "phones"),
            ("Zip", "address.postal_code"),
            ("Post code", "address.postal_code"),
            ("Date of birth", "birthday"),
            ("address.street2", "address.street2"),
            ("Street (line 2)", "address.street2"),
        ];
        for (header, key) in cases {
            assert_eq!(field_for(header, &[]).as_deref(), Some(key), "{header}");
        }
    }

    #[test]
    fn hubspot_and_salesforce_export_columns_are_recognised() {
        let cases = [
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email", "email"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phones"),
            ("Street Address", "address.street"),
            ("City", "address.city"),
            ("State/Region", "address.region"),
            ("Postal Code", "address.postal_code"),
            ("Country/Region", "address.country"),
            ("Job Title", "title"),
            ("Company Name", "company"),
            ("Lifecycle Stage", "lifecycle_stage"),
            ("Contact owner", "owner"),
            ("Record ID", "external_id"),
            ("FirstName", "first_name"),
            ("LastName", "last_name"),
            ("Phone", "phone"),
            ("MobilePhone", "phones"),
            ("MailingStreet", "address.street"),
            ("MailingCity", "address.city"),
            ("MailingState", "address.region"),
            ("MailingPostalCode", "address.postal_code"),
            ("MailingCountry", "address.country"),
            ("Title", "title"),
            ("Account Name", "company"),
            ("AccountName", "company"),
            ("Birthdate", "birthday"),
            ("LeadSource", "source"),
            ("Id", "external_id"),
        ];
        for (header, key) in cases {
            assert_eq!(field_for(header, &[]).as_deref(), Some(key), "{header}");
        }
    }

    #[test]
    fn custom_keys_are_suggested_and_unknown_headers_are_not() {
        assert_eq!(field_for("Shoe Size", &["shoe_size"]).as_deref(), Some("shoe_size"));
        assert_eq!(field_for("Shoe Size", &[]), None);
        assert_eq!(field_for("Favourite colour", &["shoe_size"]), None);
        assert_eq!(field_for(" - ", &[]), None);
    }
}
