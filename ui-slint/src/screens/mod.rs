//! Screens with their own Rust module: each fills its own Slint global from
//! the view-model and wires its own callbacks; `ui.rs` only calls into them.

pub mod chime;
pub mod counter_orders;
pub mod customers;
pub mod keyboard;
pub mod kitchen;
pub mod login;
pub mod nav;
pub mod ops;
pub mod ops_demo;
pub mod ops_view;
pub mod price_override;
pub mod receipts;
pub mod self_order;
pub mod shift;
pub mod technician;
