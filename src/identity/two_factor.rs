//! Two-factor authentication with time-based one-time passwords (RFC 6238) and recovery codes.
//! A user enrols by scanning a secret and confirming one current code; from then on a correct
//! password only opens a short-lived pending login, completed with a code. Codes are six digits
//! in 30-second steps, accepted one step either side of the server's clock (phones drift), and
//! each step is accepted once: the last spent step is stored and anything not later is refused
//! as a replay. The ten recovery codes are stored as SHA-256 digests (they are 64 random bits,
//! so a slow hash buys nothing) and each works once. The TOTP secret itself must stay readable
//! to verify codes; it is stored sealed with the installation's key ([`SecretKey`], see
//! `two_factor_secret.rs`), lives in [`Secret`] wrappers, and never reaches a log.
//!
//! Not here: the pages (`account_web.rs`) and the throttle of failed attempts, which is the
//! per-account one of `auth.rs` shared with passwords.

use chrono::{Duration, Utc};
use rapport_core::{Secret, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{NewDomainEvent, record_event};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};

use super::account::event;
use super::auth::{self, AuthError, ClientInfo, NewSession, Principal};
pub use super::two_factor_secret::SecretKey;
use super::{secret, two_factor_store as store};

const ISSUER: &str = "Rapport";
pub const RECOVERY_CODES: usize = 10;
/// How long the step between password and code may take.
pub const PENDING_LOGIN: Duration = Duration::minutes(5);
const PENDING_PREFIX: &str = "rpl";

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("the code is wrong or was already used")]
    WrongCode,
    #[error("two-factor authentication is already on")]
    AlreadyEnabled,
    #[error("two-factor authentication is not on")]
    NotEnabled,
    #[error("only owners and admins may change the workspace policy")]
    NotAllowed,
    #[error("two-factor secret unusable: {0}")]
    Secret(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What the enrolment page shows: the secret as a URI, as text for manual entry, and as a QR
/// code in SVG.
pub struct Enrolment {
    pub uri: Secret<String>,
    pub secret: Secret<String>,
    pub qr_svg: Secret<String>,
}

/// Recovery codes in clear, shown once right after enrolment.
pub struct RecoveryCodes(pub Vec<Secret<String>>);

pub struct Status {
    pub enabled: bool,
    pub unused_recovery_codes: i64,
}

pub async fn status(db: &Db, user: UserId) -> Result<Status, TwoFactorError> {
    let enabled = is_enabled(db, user).await?;
    let unused_recovery_codes = if enabled { store::unused_recovery_codes(db, user).await? } else { 0 };
    Ok(Status { enabled, unused_recovery_codes })
}

pub async fn is_enabled(db: &Db, user: UserId) -> Result<bool, DbError> {
    Ok(store::two_factor(db, user).await?.is_some_and(|row| row.enabled_at.is_some()))
}

/// Starts (or resumes, so that a reload shows the same secret) enrolment for the caller.
pub async fn start_enrolment(db: &Db, key: &SecretKey, principal: &Principal) -> Result<Enrolment, TwoFactorError> {
    if is_enabled(db, principal.user_id).await? {
        return Err(TwoFactorError::AlreadyEnabled);
    }
    let mut fresh = [0u8; 20];
    getrandom::fill(&mut fresh).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let user = principal.user_id;
    let fresh = key.seal(user, &totp_rs::Secret::from(fresh).to_base32()).map_err(sealing)?;
    let kept = db
        .write(move |tx| Box::pin(async move { store::keep_pending_secret(tx, user, &fresh, Utc::now()).await }))
        .await?;
    let kept = opened(db, key, user, &kept).await?;
    let totp = totp(kept.expose(), &principal.email)?;
    let uri = totp.to_url().map_err(|e| TwoFactorError::Secret(e.to_string()))?;
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| TwoFactorError::Secret(e.to_string()))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let inline = svg.find("<svg").map_or(svg.as_str(), |start| &svg[start..]).to_owned();
    Ok(Enrolment { uri: Secret::new(uri), secret: kept, qr_svg: Secret::new(inline) })
}

/// Turns two-factor on once the user proves their authenticator works, and issues fresh
/// recovery codes.
pub async fn confirm_enrolment(
    db: &Db,
    key: &SecretKey,
    principal: &Principal,
    code: &str,
) -> Result<RecoveryCodes, TwoFactorError> {
    let row = store::two_factor(db, principal.user_id).await?.ok_or(TwoFactorError::NotEnabled)?;
    if row.enabled_at.is_some() {
        return Err(TwoFactorError::AlreadyEnabled);
    }
    let secret = opened(db, key, principal.user_id, &row.secret).await?;
    let step = current_step(&totp(secret.expose(), &principal.email)?, code).ok_or(TwoFactorError::WrongCode)?;
    let codes = generate_recovery_codes()?;
    let hashes: Vec<String> = codes.0.iter().map(|code| digest(code.expose())).collect();
    let (user, event) = (principal.user_id, security_event(principal, "security.two_factor_enabled"));
    db.write(move |tx| {
        Box::pin(async move {
            if !store::enable(tx, user, step, Utc::now()).await? {
                return Err(TwoFactorError::AlreadyEnabled);
            }
            store::replace_recovery_codes(tx, user, &hashes).await?;
            record_event(tx, &event).await?;
            Ok(())
        })
    })
    .await?;
    Ok(codes)
}

/// Turns two-factor off, given a current code (or recovery code) or the account password.
pub async fn disable(
    db: &Db,
    key: &SecretKey,
    principal: &Principal,
    (code, password): (&str, &str),
) -> Result<(), TwoFactorError> {
    let row = store::two_factor(db, principal.user_id).await?.filter(|row| row.enabled_at.is_some());
    let row = row.ok_or(TwoFactorError::NotEnabled)?;
    let proof = if code.trim().is_empty() {
        if !auth::password_matches(db, principal.user_id, password).await? {
            return Err(TwoFactorError::WrongCode);
        }
        None
    } else {
        let secret = opened(db, key, principal.user_id, &row.secret).await?;
        Some(Candidate::of(&totp(secret.expose(), &principal.email)?, code))
    };
    let (user, event) = (principal.user_id, security_event(principal, "security.two_factor_disabled"));
    db.write(move |tx| {
        Box::pin(async move {
            if let Some(candidate) = proof
                && !candidate.spend(tx, user).await?
            {
                return Err(TwoFactorError::WrongCode);
            }
            store::delete_two_factor(tx, user).await?;
            record_event(tx, &event).await?;
            Ok(())
        })
    })
    .await
}

/// Whether `workspace` requires two-factor authentication of every member.
pub async fn policy(db: &Db, workspace: WorkspaceId) -> Result<bool, DbError> {
    store::policy(db, workspace).await
}

/// Sets the workspace policy; owners and admins only.
pub async fn set_policy(db: &Db, principal: &Principal, required: bool) -> Result<(), TwoFactorError> {
    if !principal.role.can_administer() || !principal.may("workspace", true) {
        return Err(TwoFactorError::NotAllowed);
    }
    let workspace = principal.workspace_id;
    let mut event = security_event(principal, "security.two_factor_policy_changed");
    event.entity_type = "workspace".into();
    event.entity_id = workspace.get();
    event.payload = serde_json::json!({ "required": required });
    db.write(move |tx| {
        Box::pin(async move {
            store::set_policy(tx, workspace, required).await?;
            record_event(tx, &event).await?;
            Ok(())
        })
    })
    .await
}

/// After a correct password for a user with two-factor on: a single-use pending login (the
/// value goes in a short-lived cookie; only its hash is stored).
pub async fn start_pending_login(db: &Db, user: UserId) -> Result<Secret<String>, AuthError> {
    let workspace = auth::first_workspace(db, user).await?;
    let value = secret::generate(PENDING_PREFIX, workspace).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let id_hash = secret::hash(&value);
    let expires_at = Utc::now() + PENDING_LOGIN;
    db.write(move |tx| {
        Box::pin(async move { store::insert_pending_login(tx, workspace, &id_hash, user, expires_at).await })
    })
    .await?;
    Ok(Secret::new(value))
}

/// Completes a pending login with a TOTP or recovery code and starts the session. A wrong code
/// counts as a failed sign-in for the account's throttle.
pub async fn complete_pending_login(
    db: &Db,
    key: &SecretKey,
    pending: &str,
    code: &str,
    client: ClientInfo,
) -> Result<NewSession, AuthError> {
    let workspace = secret::workspace_of(PENDING_PREFIX, pending).ok_or(AuthError::Unauthenticated)?;
    let id_hash = secret::hash(pending);
    let user =
        store::live_pending_login(db, workspace, &id_hash, Utc::now()).await?.ok_or(AuthError::Unauthenticated)?;
    let throttle = auth::throttle_for(db, user).await?;
    let row = store::two_factor(db, user).await?.filter(|row| row.enabled_at.is_some());
    let row = row.ok_or(AuthError::Unauthenticated)?;
    let unusable = |e: TwoFactorError| DbError::Unavailable(e.to_string());
    let secret = opened(db, key, user, &row.secret).await.map_err(unusable)?;
    let candidate = Candidate::of(&totp(secret.expose(), "").map_err(unusable)?, code);
    let recovery = matches!(candidate, Candidate::Recovery(_));
    let accepted = db
        .write(move |tx| {
            Box::pin(async move {
                if !candidate.spend(tx, user).await? {
                    return Ok::<_, AuthError>(false);
                }
                // Spent by a racing request meanwhile: roll the code back and start over.
                if !store::spend_pending_login(tx, workspace, &id_hash, Utc::now()).await? {
                    return Err(AuthError::Unauthenticated);
                }
                if recovery {
                    let actor = rapport_core::Actor::User(user);
                    let event = event(workspace, user, "security.recovery_code_used", serde_json::json!({}), &actor);
                    record_event(tx, &event).await?;
                }
                Ok(true)
            })
        })
        .await?;
    if !accepted {
        throttle.count_failure(db).await?;
        return Err(AuthError::BadCredentials);
    }
    throttle.clear(db).await?;
    auth::start_session(db, user, client).await
}

/// A code as typed, resolved before the write transaction: the TOTP step it matches, or the
/// digest of a would-be recovery code.
enum Candidate {
    Step(i64),
    Recovery(String),
    Invalid,
}

impl Candidate {
    fn of(totp: &Totp, code: &str) -> Self {
        let cleaned: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if cleaned.len() == 6 && cleaned.bytes().all(|b| b.is_ascii_digit()) {
            return current_step(totp, &cleaned).map_or(Self::Invalid, Self::Step);
        }
        if cleaned.len() == 16 {
            return Self::Recovery(digest(&cleaned.to_ascii_lowercase()));
        }
        Self::Invalid
    }

    /// Uses the code up; false when it is wrong, replayed or already used.
    async fn spend(&self, tx: &mut Tx, user: UserId) -> Result<bool, DbError> {
        match self {
            Self::Step(step) => store::spend_step(tx, user, *step).await,
            Self::Recovery(hash) => store::spend_recovery_code(tx, user, hash, Utc::now()).await,
            Self::Invalid => Ok(false),
        }
    }
}

/// The secret of a stored value; one still stored in clear (from before secrets were sealed)
/// is sealed in place on the way.
async fn opened(db: &Db, key: &SecretKey, user: UserId, stored: &str) -> Result<Secret<String>, TwoFactorError> {
    let opened = key.open(user, stored).map_err(sealing)?;
    if opened.legacy {
        let (sealed, stored) = (key.seal(user, opened.secret.expose()).map_err(sealing)?, stored.to_owned());
        db.write(move |tx| Box::pin(async move { store::reseal(tx, user, &stored, &sealed).await })).await?;
    }
    Ok(opened.secret)
}

fn sealing(err: super::two_factor_secret::SealError) -> TwoFactorError {
    TwoFactorError::Secret(err.to_string())
}

fn totp(secret: &str, email: &str) -> Result<Totp, TwoFactorError> {
    let bytes = totp_rs::Secret::try_from_base32(secret).map_err(|e| TwoFactorError::Secret(e.to_string()))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        .with_account_name(email)
        .build()
        .map_err(|e| TwoFactorError::Secret(e.to_string()))
}

fn current_step(totp: &Totp, code: &str) -> Option<i64> {
    totp.check_current(code.trim()).and_then(|step| i64::try_from(step).ok())
}

/// Ten codes of 64 random bits, written `xxxx-xxxx-xxxx-xxxx`; dashes and case do not matter
/// when one is typed back.
fn generate_recovery_codes() -> Result<RecoveryCodes, TwoFactorError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| DbError::Unavailable(e.to_string()))?;
        let hex = hex::encode(bytes);
        codes.push(Secret::new(format!("{}-{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12], &hex[12..16])));
    }
    Ok(RecoveryCodes(codes))
}

fn digest(code: &str) -> String {
    let cleaned: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    hex::encode(Sha256::digest(cleaned.to_ascii_lowercase().as_bytes()))
}

/// A `security.*` event about the caller's own account.
fn security_event(principal: &Principal, kind: &str) -> NewDomainEvent {
    super::account::event(principal.workspace_id, principal.user_id, kind, serde_json::json!({}), &principal.actor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_ten_distinct_and_match_however_they_are_typed() {
        let codes = generate_recovery_codes().expect("randomness");
        let mut hashes: Vec<String> = codes.0.iter().map(|c| digest(c.expose())).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let code = codes.0[0].expose();
        assert_eq!(digest(&code.replace('-', "").to_ascii_uppercase()), digest(code));
    }
}
