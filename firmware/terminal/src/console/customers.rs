//! The console's customer commands: `customer set`, `customer show`,
//! `customers`. Personal fields are sealed under each customer's own key
//! before they reach the journal (keel-core's `pii`); the key goes into the
//! terminal's key ring first, in its own durable write, and replication takes
//! both to the other terminals and the cloud. An erased customer shows as
//! erased: the journal keeps the sealed record, nobody can read it.
//!
//! This module decides nothing about who may do what (the engine does) and
//! draws only the random key and nonce a seal needs.

use super::reply::Reply;
use crate::fields;
use crate::node::Node;
use keel_core::auth::{Permission, User};
use keel_core::customer::Customer;
use keel_core::engine::{require, Engine};
use keel_core::pii::{CustomerKey, FreshSecrets, KeyRing, PiiError};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

fn fresh_secrets() -> Result<FreshSecrets, Reply> {
    let rng = SystemRandom::new();
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    rng.fill(&mut key)
        .and_then(|()| rng.fill(&mut nonce))
        .map_err(|_| Reply::err("no randomness available for the customer's key; nothing saved"))?;
    Ok(FreshSecrets {
        key: CustomerKey(key),
        nonce,
    })
}

fn ring(node: &Node) -> Result<KeyRing, Reply> {
    node.key_ring()
        .map_err(|e| Reply::err(format!("reading customer keys: {e}")))
}

/// `customer set <id> <phone|-> <name>`.
pub fn set(
    node: &mut Node,
    user: Option<&User>,
    id: &str,
    phone: Option<&str>,
    name: &str,
) -> Result<Reply, Reply> {
    let keys = ring(node)?;
    let (event, new_key) = Engine::new(&node.profile, &node.state)
        .customer_upsert_sealed(user, id, phone, name, &keys, fresh_secrets()?)
        .map_err(Reply::err)?;
    if let Some(key) = new_key {
        // The key is durable before any record sealed with it exists.
        let mut one = KeyRing::new();
        one.add(id, key);
        node.merge_keys(&one)
            .map_err(|e| Reply::err(format!("saving the customer's key: {e}")))?;
    }
    node.commit(vec![event], None).map_err(Reply::err)?;
    Ok(Reply::ok(
        fields! { "id" => id, "name" => name, "phone" => phone },
        vec![format!("customer {id} saved")],
    ))
}

/// What this terminal can show of a customer.
enum View {
    Readable(Customer),
    Erased,
    KeyMissing,
}

fn view(node: &Node, keys: &KeyRing, id: &str) -> Option<View> {
    match node.state.customer(id, keys)? {
        Ok(c) => Some(View::Readable(c)),
        Err(PiiError::Erased(_)) => Some(View::Erased),
        Err(PiiError::KeyMissing(_)) => Some(View::KeyMissing),
        Err(e) => {
            log::warn!("customer record {id} cannot be opened: {e}");
            Some(View::KeyMissing)
        }
    }
}

/// `customer show <id>`.
pub fn show(node: &Node, user: Option<&User>, id: &str) -> Result<Reply, Reply> {
    require(user, Permission::Sell).map_err(Reply::err)?;
    let keys = ring(node)?;
    match view(node, &keys, id) {
        None => Err(Reply::err(format!("no customer {id}"))),
        Some(View::Readable(c)) => Ok(Reply::ok(
            fields! { "id" => c.id, "name" => c.name, "phone" => c.phone },
            vec![format!(
                "{} {} {}",
                c.id,
                c.name,
                c.phone.clone().unwrap_or_default()
            )],
        )),
        Some(View::Erased) => Ok(Reply::ok(
            fields! { "id" => id, "erased" => true },
            vec![format!(
                "customer {id} was erased at their request; their data is unreadable"
            )],
        )),
        Some(View::KeyMissing) => Ok(Reply::ok(
            fields! { "id" => id, "key_missing" => true },
            vec![format!(
                "customer {id}: the key has not reached this terminal yet; try again shortly"
            )],
        )),
    }
}

/// `customers [query]`: readable customers matching the query (erased ones never match).
pub fn list(node: &Node, user: Option<&User>, query: &str) -> Result<Reply, Reply> {
    require(user, Permission::Sell).map_err(Reply::err)?;
    let keys = ring(node)?;
    let q = query.to_lowercase();
    let hits: Vec<Customer> = node
        .state
        .customer_ids()
        .iter()
        .filter_map(|id| match view(node, &keys, id) {
            Some(View::Readable(c)) => Some(c),
            _ => None,
        })
        .filter(|c| {
            q.is_empty()
                || c.id.to_lowercase().contains(&q)
                || c.name.to_lowercase().contains(&q)
                || c.phone.as_deref().is_some_and(|p| p.contains(&q))
        })
        .take(50)
        .collect();
    let text = if hits.is_empty() {
        vec!["no customers".to_string()]
    } else {
        hits.iter()
            .map(|c| {
                format!(
                    "{:<12} {:<32} {}",
                    c.id,
                    c.name,
                    c.phone.clone().unwrap_or_default()
                )
            })
            .collect()
    };
    Ok(Reply::ok(
        fields! { "customers" => hits.iter().map(|c| json!({"id": c.id, "name": c.name, "phone": c.phone})).collect::<Vec<_>>() },
        text,
    ))
}
