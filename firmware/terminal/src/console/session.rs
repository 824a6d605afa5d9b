//! A console session: who is logged in, the login lockout, JSON mode, and the
//! execution of each parsed command against the node. Every mutating command
//! goes decide (engine) -> commit (durable) -> reply, so a reply that reports
//! success always describes something already on disk.

mod card_risk;

use super::command::{parse, Command, USAGE};
use super::render;
use super::reply::Reply;
use crate::fields;
use crate::node::Node;
use keel_core::auth::{LoginGuard, Permission, User};
use keel_core::catalog_import;
use keel_core::engine::{require, AddRequest, Engine, RefundRequest};
use keel_core::event::EventBody;
use keel_core::ids::{CommandId, ReceiptNo};
use keel_core::receipt::Receipt;
use serde_json::json;

/// What a console session remembers between lines: who is logged in, the login
/// lockout, the reply format.
#[derive(Default)]
pub struct SessionState {
    user: Option<User>,
    guard: LoginGuard,
    /// Replies as JSON lines.
    pub json: bool,
    /// This line's reply as JSON whatever `json` says (a command's `--json`).
    pub json_once: bool,
    /// Set by `quit`.
    pub quit: bool,
    /// A consensus operation to run once the node is unlocked (see [`Pending`]).
    pub pending: Option<Pending>,
    /// `scanner monitor` runs: scans are shown, not sold, until a blank line.
    pub monitoring: bool,
    /// A device wait to run once the node is unlocked (reading the scale, the
    /// drawer's switch after a kick): seconds on a device never hold the node.
    pub device_wait: Option<super::devices::DeviceWait>,
}

/// A consensus operation a command asked for. It is run by the console loop
/// after the node lock is released (the cluster runtime needs the node to apply
/// the decision), and its outcome rendered into the command's reply.
pub struct Pending {
    /// What to decide.
    pub request: crate::cluster_runtime::Consensus,
    /// Turns the outcome (raft index, or why not) into the reply.
    pub render: Box<dyn FnOnce(Result<u64, String>) -> Reply + Send>,
    /// What this terminal journals once the decision is granted (a counter
    /// order's take), run with the node locked again; `None` when the
    /// decision itself is the whole effect.
    pub finish: Option<FinishStep>,
}

/// What a terminal journals once a consensus decision is granted at a raft
/// index, run with the node locked (see [`Pending::finish`]).
pub type FinishStep = Box<dyn FnOnce(&mut Node, u64) -> Reply + Send>;

impl Pending {
    /// The reply for the decision's `outcome`: a granted decision with a local
    /// step runs it under the node lock; everything else is rendered.
    pub fn conclude(self, outcome: Result<u64, String>, node: &std::sync::Mutex<Node>) -> Reply {
        match (outcome, self.finish) {
            (Ok(index), Some(finish)) => {
                let mut guard = match node.lock() {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
                finish(&mut guard, index)
            }
            (outcome, _) => (self.render)(outcome),
        }
    }
}

impl SessionState {
    /// Who is logged in.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// A session with nobody logged in.
    pub fn new(json: bool) -> SessionState {
        SessionState {
            json,
            ..SessionState::default()
        }
    }
}

/// One line's execution: the session's state, the node (locked for the line) and
/// the cluster, if this terminal has one.
pub struct Session<'n> {
    node: &'n mut Node,
    st: &'n mut SessionState,
    cluster: Option<&'n crate::cluster_runtime::ClusterHandle>,
    uplink: Option<&'n crate::uplink_runtime::UplinkHandle>,
    devices: Option<&'n crate::peripherals::Peripherals>,
}

impl<'n> Session<'n> {
    /// A line's session on `node`.
    pub fn new(
        node: &'n mut Node,
        st: &'n mut SessionState,
        cluster: Option<&'n crate::cluster_runtime::ClusterHandle>,
    ) -> Session<'n> {
        Session {
            node,
            st,
            cluster,
            uplink: None,
            devices: None,
        }
    }

    /// The same session with the terminal's peripherals, if it has any.
    pub fn with_devices(
        mut self,
        devices: Option<&'n crate::peripherals::Peripherals>,
    ) -> Session<'n> {
        self.devices = devices;
        self
    }

    /// The same session with the cloud uplink, if this terminal has one.
    pub fn with_uplink(
        mut self,
        uplink: Option<&'n crate::uplink_runtime::UplinkHandle>,
    ) -> Session<'n> {
        self.uplink = uplink;
        self
    }

    /// The node.
    pub fn node(&self) -> &Node {
        self.node
    }

    /// Executes one line; `None` for blank lines and comments.
    pub fn execute_line(&mut self, line: &str) -> Option<Reply> {
        match parse(line) {
            Ok(None) => None,
            Ok(Some(cmd)) => Some(self.execute(cmd)),
            Err(e) => Some(Reply::err(e)),
        }
    }

    /// `cluster add|remove <id>` (manager): a membership change decided by consensus.
    fn membership(&mut self, terminal: u32, add: bool) -> Result<Reply, Reply> {
        require(self.user(), Permission::Catalog).map_err(Reply::err)?;
        let cluster = self.cluster.ok_or_else(|| {
            Reply::err("this terminal has no cluster configured (no [cluster] section)")
        })?;
        let _ = cluster;
        let request = if add {
            crate::cluster_runtime::Consensus::AddTerminal(terminal)
        } else {
            crate::cluster_runtime::Consensus::RemoveTerminal(terminal)
        };
        Ok(self.defer(request, move |index| {
            let verb = if add { "added to" } else { "removed from" };
            Reply::ok(
                fields! { "terminal" => terminal, "added" => add, "raft_index" => index },
                vec![format!(
                    "T{terminal:02} {verb} the store's cluster (raft index {index})"
                )],
            )
        }))
    }

    /// Leaves `request` for the console loop to run without the node lock; the
    /// reply is rendered by `ok` on success, or is the refusal.
    fn defer(
        &mut self,
        request: crate::cluster_runtime::Consensus,
        ok: impl FnOnce(u64) -> Reply + Send + 'static,
    ) -> Reply {
        self.st.pending = Some(Pending {
            request,
            render: Box::new(move |r| match r {
                Ok(index) => ok(index),
                Err(e) => Reply::err(e),
            }),
            finish: None,
        });
        Reply::line("pending consensus")
    }

    /// `order take <number>`: checked here; in a cluster the take is granted
    /// by consensus first (the first committed take of an order wins) and
    /// journaled once granted, otherwise it is journaled at once.
    fn order_take(&mut self, number: String) -> Result<Reply, Reply> {
        let order = Engine::new(&self.node.profile, &self.node.state)
            .check_take(self.user(), &number)
            .map_err(Reply::err)?
            .id;
        if self.cluster.is_none() {
            return super::counter_orders::take(self.node, self.st.user.as_ref(), &number, 0);
        }
        let user = self.st.user.clone();
        self.st.pending = Some(Pending {
            request: crate::cluster_runtime::Consensus::TakeCounterOrder {
                order: order.to_string(),
                terminal: self.node.state.terminal.0,
            },
            render: Box::new(|r| match r {
                Ok(index) => Reply::err(format!(
                    "internal: take granted at raft index {index} without its local step"
                )),
                Err(e) => Reply::err(e),
            }),
            finish: Some(Box::new(
                move |node, index| match super::counter_orders::take(
                    node,
                    user.as_ref(),
                    &number,
                    index,
                ) {
                    Ok(r) | Err(r) => r,
                },
            )),
        });
        Ok(Reply::line("pending consensus"))
    }

    fn cluster_status(&self) -> Result<crate::cluster_runtime::ClusterStatus, Reply> {
        self.cluster.map(|c| c.status()).ok_or_else(|| {
            Reply::err(
                "this terminal has no cluster configured (no [cluster] section): it sells alone",
            )
        })
    }

    fn user(&self) -> Option<&User> {
        self.st.user.as_ref()
    }

    /// Commits events, mapping a storage failure to an error reply.
    fn commit(&mut self, events: Vec<EventBody>) -> Result<Vec<keel_store::StoredEvent>, Reply> {
        self.node.commit(events, None).map_err(Reply::err)
    }

    /// Executes a parsed command.
    pub fn execute(&mut self, cmd: Command) -> Reply {
        match self.run(cmd) {
            Ok(r) | Err(r) => r,
        }
    }

    fn run(&mut self, cmd: Command) -> Result<Reply, Reply> {
        let now = self.node.now_ms();
        match cmd {
            Command::Help => Ok(Reply::ok(
                fields! { "commands" => USAGE.iter().map(|(_, u)| *u).collect::<Vec<_>>() },
                USAGE.iter().map(|(_, u)| format!("  {u}")).collect(),
            )),
            Command::Quit => {
                self.st.quit = true;
                Ok(Reply::line("bye"))
            }
            Command::Json { on } => {
                self.st.json = on;
                Ok(Reply::ok(
                    fields! { "json" => on },
                    vec![format!("json {}", if on { "on" } else { "off" })],
                ))
            }
            Command::Login { pin } => {
                let users = self.node.profile.users.clone();
                let u = self
                    .st
                    .guard
                    .login(&users, &pin, now)
                    .map_err(Reply::err)?
                    .clone();
                let reply = Reply::ok(
                    fields! { "user" => u.id.0, "name" => u.name, "role" => u.role.as_str() },
                    vec![format!("logged in as {} ({})", u.name, u.role.as_str())],
                );
                self.st.user = Some(u);
                Ok(reply)
            }
            Command::Logout => {
                self.st.user = None;
                Ok(Reply::line("logged out"))
            }
            Command::Status => {
                let mut reply = render::status(
                    self.node,
                    self.st.user.as_ref(),
                    self.cluster.map(|c| c.status()).as_ref(),
                    self.uplink.map(|u| u.status()).as_ref(),
                );
                if let Some(p) = self.devices.and_then(|d| d.printer_status()) {
                    super::devices::add_printer_line(&mut reply, &p);
                }
                super::models::add_status_lines(&mut reply, self.node);
                super::ota::add_status_line(&mut reply, self.node);
                Ok(reply)
            }
            Command::DrawerTest
            | Command::PrinterTest
            | Command::PrinterStatus
            | Command::PrinterReprint { .. }
            | Command::ScannerMonitor
            | Command::ScaleRead
            | Command::ScaleAdd { .. } => {
                let user = self.st.user.clone();
                super::devices::execute(self.node, self.st, user.as_ref(), self.devices, cmd)
            }
            Command::CloudStatus => {
                let uplink = self.uplink.map(|u| u.status()).ok_or_else(|| {
                    Reply::err("this terminal has no cloud configured (no [cloud] section)")
                })?;
                Ok(super::cloud::status(
                    self.node,
                    self.cluster.map(|c| c.status()).as_ref(),
                    &uplink,
                ))
            }
            Command::Leader => {
                let status = self.cluster_status()?;
                let r = status
                    .raft
                    .ok_or_else(|| Reply::err("raft has not started yet"))?;
                match r.leader {
                    Some(l) => Ok(Reply::ok(
                        fields! { "leader" => l, "term" => r.term, "me" => r.id, "is_leader" => r.leader == Some(r.id) },
                        vec![format!("leader T{l:02} (term {}){}", r.term, if r.leader == Some(r.id) { ", this terminal" } else { "" })],
                    )),
                    None => Ok(Reply::ok(
                        fields! { "leader" => serde_json::Value::Null, "term" => r.term, "me" => r.id, "is_leader" => false },
                        vec!["no leader known: this terminal may be in a minority partition; selling continues, consensus operations are refused".into()],
                    )),
                }
            }
            Command::RaftStatus => {
                let status = self.cluster_status()?;
                let r = status
                    .raft
                    .ok_or_else(|| Reply::err("raft has not started yet"))?;
                Ok(Reply::ok(
                    fields! { "id" => r.id, "term" => r.term, "role" => format!("{:?}", r.role).to_lowercase(), "leader" => r.leader, "commit" => r.commit, "applied" => r.applied, "last_index" => r.last_index, "voters" => r.voters },
                    vec![format!(
                        "raft T{:02}: {:?}, term {}, leader {}, commit {}, applied {}, last index {}, voters {}",
                        r.id,
                        r.role,
                        r.term,
                        r.leader.map(|l| format!("T{l:02}")).unwrap_or_else(|| "none".into()),
                        r.commit,
                        r.applied,
                        r.last_index,
                        r.voters.iter().map(|v| format!("T{v:02}")).collect::<Vec<_>>().join(" ")
                    )],
                ))
            }
            Command::ClusterAdd { terminal } => self.membership(terminal, true),
            Command::ClusterRemove { terminal } => self.membership(terminal, false),
            Command::PriceSet { sku, price } => {
                let item = Engine::new(&self.node.profile, &self.node.state)
                    .price_change(self.user(), &sku, &price)
                    .map_err(Reply::err)?;
                let shown = item.price.amount_text();
                match self.cluster {
                    Some(_) => {
                        let request = crate::cluster_runtime::Consensus::Price {
                            sku: sku.clone(),
                            price_minor: item.price.minor,
                        };
                        Ok(self.defer(request, move |index| {
                            Reply::ok(
                                fields! { "sku" => sku, "price" => shown, "raft_index" => index },
                                vec![format!("price of {sku} set to {shown} by the store's majority (raft index {index}); every terminal gets it by replication")],
                            )
                        }))
                    }
                    None => {
                        self.commit(vec![EventBody::CatalogUpserted(item)])?;
                        Ok(Reply::ok(
                            fields! { "sku" => sku, "price" => shown },
                            vec![format!("price of {sku} set to {shown}")],
                        ))
                    }
                }
            }
            Command::CustomerSet { id, phone, name } => {
                let user = self.st.user.clone();
                super::customers::set(self.node, user.as_ref(), &id, phone.as_deref(), &name)
            }
            Command::CustomerShow { id } => super::customers::show(self.node, self.user(), &id),
            Command::Customers { query } => super::customers::list(self.node, self.user(), &query),
            Command::Settings => {
                let s = &self.node.state.settings;
                let text = if s.is_empty() {
                    vec!["no settings".to_string()]
                } else {
                    s.iter().map(|(k, (v, _))| format!("{k} = {v}")).collect()
                };
                Ok(Reply::ok(
                    fields! { "settings" => s.iter().map(|(k, (v, _))| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>() },
                    text,
                ))
            }
            Command::SettingSet { key, value } => {
                let event = Engine::new(&self.node.profile, &self.node.state)
                    .setting_change(self.user(), &key, &value)
                    .map_err(Reply::err)?;
                match self.cluster {
                    Some(_) => {
                        let request = crate::cluster_runtime::Consensus::Setting {
                            key: key.clone(),
                            value: value.clone(),
                        };
                        Ok(self.defer(request, move |index| {
                            Reply::ok(fields! { "key" => key, "value" => value, "raft_index" => index }, vec![format!("setting {key} = {value:?} decided by the store's majority (raft index {index})")])
                        }))
                    }
                    None => {
                        self.commit(vec![event])?;
                        Ok(Reply::ok(
                            fields! { "key" => key, "value" => value },
                            vec![format!("setting {key} = {value:?}")],
                        ))
                    }
                }
            }
            Command::DayClose { day } => {
                require(self.user(), Permission::Catalog).map_err(Reply::err)?;
                let day = day.unwrap_or_else(|| {
                    keel_core::receipt::format_utc(now)
                        .chars()
                        .take(10)
                        .collect()
                });
                match self.cluster {
                    Some(_) => {
                        let request =
                            crate::cluster_runtime::Consensus::DayClose { day: day.clone() };
                        Ok(self.defer(request, move |index| {
                            Reply::ok(
                                fields! { "day" => day, "raft_index" => index },
                                vec![format!(
                                    "business day {day} closed for the store (raft index {index})"
                                )],
                            )
                        }))
                    }
                    None => {
                        let me = self.node.profile.terminal;
                        self.commit(vec![EventBody::DayClosed {
                            day: day.clone(),
                            raft_index: 0,
                            requested_on: me,
                        }])?;
                        Ok(Reply::ok(
                            fields! { "day" => day },
                            vec![format!("business day {day} closed")],
                        ))
                    }
                }
            }
            Command::Peers => {
                let status = self.cluster.map(|c| c.status()).ok_or_else(|| Reply::err("this terminal has no cluster configured (no [cluster] section): it sells alone"))?;
                Ok(render::peers(&status))
            }
            Command::CatalogList { query } => Ok(render::catalog(self.node, &query)),
            Command::Stock { sku } => Ok(render::stock(self.node, sku.as_deref())),
            Command::CatalogImport { path } => {
                let engine = Engine::new(&self.node.profile, &self.node.state);
                require(self.st.user.as_ref(), Permission::Catalog).map_err(Reply::err)?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Reply::err(format!("cannot read {path}: {e}")))?;
                let items = catalog_import::parse_auto(&path, &text, self.node.profile.currency)
                    .map_err(|e| Reply::err(e.to_string().replace('\n', "; ")))?;
                let events = engine
                    .import_catalog(self.st.user.as_ref(), items)
                    .map_err(Reply::err)?;
                let n = events.len();
                self.commit(events)?;
                Ok(Reply::ok(
                    fields! { "imported" => n },
                    vec![format!("imported {n} items")],
                ))
            }
            Command::StockAdjust { sku, delta, reason } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .adjust_stock(self.user(), &sku, delta, &reason)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                let on_hand = self
                    .node
                    .state
                    .stock
                    .get(&keel_core::ids::Sku(sku.clone()))
                    .copied()
                    .unwrap_or(0);
                Ok(Reply::ok(
                    fields! { "sku" => sku, "stock" => on_hand },
                    vec![format!("{sku}: {on_hand} on hand")],
                ))
            }
            Command::ShiftOpen { float } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .open_shift(self.user(), &float)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                let s = self
                    .node
                    .state
                    .shift
                    .as_ref()
                    .map(|s| (s.shift_no, s.float.amount_text()))
                    .unwrap_or_default();
                Ok(Reply::ok(
                    fields! { "shift" => s.0, "float" => s.1 },
                    vec![format!("shift {} open, float {}", s.0, s.1)],
                ))
            }
            Command::ShiftClose { counted } => {
                let (events, report) = Engine::new(&self.node.profile, &self.node.state)
                    .close_shift(self.user(), &counted, now)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::report(&report))
            }
            Command::Cash {
                inward,
                amount,
                reason,
            } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .cash_move(self.user(), inward, &amount, &reason)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                let expected = self
                    .node
                    .state
                    .shift
                    .as_ref()
                    .map(|s| s.expected_cash().amount_text())
                    .unwrap_or_default();
                Ok(Reply::ok(
                    fields! { "expected_cash" => expected },
                    vec![format!(
                        "cash {} recorded; drawer should hold {expected}",
                        if inward { "in" } else { "out" }
                    )],
                ))
            }
            Command::SaleNew => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .new_sale(self.user())
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(Reply::line("sale open"))
            }
            Command::SaleCancel => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .cancel_sale(self.user())
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(Reply::line("sale cancelled"))
            }
            Command::SaleAdd { key, qty } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .add_item(
                        self.user(),
                        AddRequest {
                            key: &key,
                            qty: qty.as_deref(),
                            now_ms: now,
                        },
                    )
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::SaleQty { line, qty } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .set_qty(self.user(), line, &qty)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::SaleVoidLine { line } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .void_line(self.user(), line)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::SaleDiscount { line, value } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .discount(self.user(), line, &value)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::SaleOverride {
                line,
                price,
                reason,
            } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .override_price(self.user(), line, &price, &reason)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::TenderCash { amount } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .tender_cash(self.user(), &amount)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(render::cart_after_edit(self.node))
            }
            Command::TenderCard {
                amount,
                token,
                last4,
                brand,
                approve_pin,
            } => {
                let card = keel_core::engine::CardTender {
                    amount: &amount,
                    token: &token,
                    last4: &last4,
                    brand: brand.as_deref(),
                };
                self.tender_card(&card, approve_pin.as_deref(), now)
            }
            Command::SaleShow => {
                let priced = Engine::new(&self.node.profile, &self.node.state)
                    .priced()
                    .map_err(Reply::err)?;
                Ok(render::cart(self.node, &priced))
            }
            Command::SaleComplete { command_id } => self.complete(command_id),
            Command::ReceiptShow { number } => {
                let rec = self
                    .node
                    .sale(ReceiptNo(number))
                    .map_err(Reply::err)?
                    .ok_or_else(|| Reply::err(format!("no receipt {number} on this terminal")))?;
                let mut receipt = Receipt::from_sale(
                    &self.node.profile,
                    &rec.sale,
                    rec.seq,
                    &rec.hash,
                    rec.time_ms,
                );
                receipt.voided = rec.voided;
                Ok(render::receipt(&receipt, &rec.refunds))
            }
            Command::Void { receipt } => {
                require(self.user(), Permission::Void).map_err(Reply::err)?;
                let rec = self
                    .node
                    .sale(ReceiptNo(receipt))
                    .map_err(Reply::err)?
                    .ok_or_else(|| Reply::err(format!("no receipt {receipt} on this terminal")))?;
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .void_sale(self.user(), &rec.sale, rec.voided, &rec.refunds)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                let amount = rec.sale.amount_due().amount_text();
                Ok(Reply::ok(
                    fields! { "voided" => receipt, "amount" => amount },
                    vec![format!("receipt {receipt} voided ({amount} returned)")],
                ))
            }
            Command::Refund { receipt, lines } => {
                require(self.user(), Permission::Refund).map_err(Reply::err)?;
                let rec = self
                    .node
                    .sale(ReceiptNo(receipt))
                    .map_err(Reply::err)?
                    .ok_or_else(|| Reply::err(format!("no receipt {receipt} on this terminal")))?;
                let req: Vec<RefundRequest<'_>> = lines
                    .iter()
                    .map(|(l, q)| RefundRequest {
                        line_no: *l,
                        qty: q,
                    })
                    .collect();
                let (events, record) = Engine::new(&self.node.profile, &self.node.state)
                    .refund(self.user(), &rec.sale, rec.voided, &rec.refunds, &req)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                let total = record.total.amount_text();
                Ok(Reply::ok(
                    fields! { "refunded" => receipt, "amount" => total, "lines" => record.lines.iter().map(|l| json!({"line": l.line_no, "qty": l.qty, "amount": l.amount.amount_text()})).collect::<Vec<_>>() },
                    vec![format!(
                        "refund on receipt {receipt}: {total} paid back in cash"
                    )],
                ))
            }
            Command::DrawerOpen => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .no_sale(self.user())
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(Reply::ok(
                    fields! { "drawer" => "open" },
                    vec!["drawer opened (no sale, journaled)".into()],
                ))
            }
            Command::ReportX => {
                let report = Engine::new(&self.node.profile, &self.node.state)
                    .x_report(self.user(), now)
                    .map_err(Reply::err)?;
                Ok(render::report(&report))
            }
            Command::ReportZ { number } => {
                require(self.user(), Permission::Reports).map_err(Reply::err)?;
                let report = self
                    .node
                    .z_report(number)
                    .map_err(Reply::err)?
                    .ok_or_else(|| {
                        Reply::err(match number {
                            Some(n) => format!("no Z report {n}"),
                            None => {
                                "no Z report yet: `shift close <counted>` makes one".to_string()
                            }
                        })
                    })?;
                Ok(render::report(&report))
            }
            Command::JournalTail { n } => {
                require(self.user(), Permission::Diagnostics).map_err(Reply::err)?;
                let events = self.node.journal().tail(n.min(1000)).map_err(Reply::err)?;
                Ok(render::journal_tail(&events))
            }
            Command::JournalVerify => {
                require(self.user(), Permission::Diagnostics).map_err(Reply::err)?;
                let summary = self.node.journal().verify().map_err(|e| match e {
                    keel_store::VerifyError::Broken(b) => {
                        Reply::err(format!("journal verify FAILED: {b}"))
                    }
                    other => Reply::err(format!("journal verify FAILED: {other}")),
                })?;
                Ok(Reply::ok(
                    fields! { "records" => summary.records, "head" => summary.head.hex() },
                    vec![format!(
                        "journal ok: {} records, head {}",
                        summary.records,
                        summary.head.hex()
                    )],
                ))
            }
            Command::JournalExport { path } => {
                require(self.user(), Permission::Diagnostics).map_err(Reply::err)?;
                let n = self
                    .node
                    .journal()
                    .export(std::path::Path::new(&path))
                    .map_err(Reply::err)?;
                Ok(Reply::ok(
                    fields! { "records" => n, "path" => path },
                    vec![format!("exported {n} records to {path}")],
                ))
            }
            Command::JournalRebuild => {
                require(self.user(), Permission::Diagnostics).map_err(Reply::err)?;
                if self
                    .user()
                    .is_some_and(|u| u.role != keel_core::auth::Role::Technician)
                {
                    return Err(Reply::err("technician role needed for journal rebuild"));
                }
                let n = self.node.rebuild().map_err(Reply::err)?;
                Ok(Reply::ok(
                    fields! { "replayed" => n },
                    vec![format!("derived state rebuilt from {n} journal records")],
                ))
            }
            Command::ModelList => super::models::list(self.node),
            Command::ModelRecognize { image } => {
                match super::models::recognize(self.node, image.as_deref())? {
                    // A recognized product goes in exactly as a scan does: `sale add <SKU>`.
                    super::models::Recognized::Add { sku, confidence } => {
                        let cart = self
                            .run(Command::SaleAdd {
                                key: sku.clone(),
                                qty: None,
                            })
                            .map_err(|r| super::models::not_added(r, &sku, confidence))?;
                        Ok(super::models::added(cart, self.node, &sku, confidence))
                    }
                    super::models::Recognized::Reply(r) => Ok(r),
                }
            }
            Command::ModelScore { shift } => {
                super::models::score(self.node, self.st.user.as_ref(), shift)
            }
            Command::ModelReload { kind, dir } => {
                super::models::reload(self.node, self.st.user.as_ref(), &kind, &dir)
            }
            Command::OtaStatus { json } => {
                self.st.json_once = json;
                super::ota::status(self.node)
            }
            Command::OtaInstall {
                path,
                now,
                allow_downgrade,
                json,
            } => {
                self.st.json_once = json;
                super::ota::install(
                    self.node,
                    self.st.user.as_ref(),
                    path.as_deref(),
                    now,
                    allow_downgrade,
                )
            }
            Command::OtaRollback { models, json } => {
                self.st.json_once = json;
                super::ota::rollback(self.node, self.st.user.as_ref(), models.as_deref())
            }
            Command::KitchenList => Ok(render::kitchen(self.node, now)),
            Command::OrderPlace => super::counter_orders::place(self.node, self.st.user.as_ref()),
            Command::Orders => Ok(super::counter_orders::list(self.node, now)),
            Command::OrderTake { number } => self.order_take(number),
            Command::OrderCancel { number } => {
                super::counter_orders::cancel(self.node, self.st.user.as_ref(), &number)
            }
            Command::KitchenAdvance { ticket } => {
                let (events, to) = Engine::new(&self.node.profile, &self.node.state)
                    .kitchen_advance(self.user(), &ticket)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(Reply::ok(
                    fields! { "ticket" => ticket, "status" => to.as_str() },
                    vec![format!("ticket {ticket}: {}", to.as_str())],
                ))
            }
            Command::KitchenRecall { ticket } => {
                let events = Engine::new(&self.node.profile, &self.node.state)
                    .kitchen_recall(self.user(), &ticket)
                    .map_err(Reply::err)?;
                self.commit(events)?;
                Ok(Reply::ok(
                    fields! { "ticket" => ticket, "recalled" => true },
                    vec![format!("ticket {ticket} recalled")],
                ))
            }
        }
    }

    /// `sale complete [command-id]`: idempotent by command id; replies only after the sale is durable.
    fn complete(&mut self, command_id: Option<String>) -> Result<Reply, Reply> {
        let id = match &command_id {
            Some(text) => Some(CommandId::parse(text).ok_or_else(|| {
                Reply::err(format!(
                    "command id must be a UUID, got {text:?}; usage: sale complete [command-id]"
                ))
            })?),
            None => None,
        };
        if let Some(id) = id {
            if let Some(first) = self.node.idempotent_reply(&id).map_err(Reply::err)? {
                // Sent before: answer with the first result, make nothing new.
                let no: u64 = postcard::from_bytes(&first)
                    .map_err(|e| Reply::err(format!("stored reply for {id} unreadable: {e}")))?;
                return self.completed_reply(ReceiptNo(no));
            }
        }
        let (events, sale) = Engine::new(&self.node.profile, &self.node.state)
            .complete(self.user())
            .map_err(Reply::err)?;
        let idem = match id {
            Some(id) => Some((
                id,
                postcard::to_stdvec(&sale.receipt_no.0).map_err(Reply::err)?,
            )),
            None => None,
        };
        let flagged = card_risk::flag_of(&events);
        let stored = self.node.commit(events, idem).map_err(Reply::err)?;
        let first = stored
            .first()
            .ok_or_else(|| Reply::err("internal: commit returned no records"))?;
        let receipt = Receipt::from_sale(
            &self.node.profile,
            &sale,
            first.event.dot.seq,
            &first.hash,
            first.event.hlc.wall_ms,
        );
        let mut reply = render::completed(&receipt);
        card_risk::add_flag(&mut reply, flagged);
        Ok(reply)
    }

    fn completed_reply(&self, no: ReceiptNo) -> Result<Reply, Reply> {
        let rec = self.node.sale(no).map_err(Reply::err)?.ok_or_else(|| {
            Reply::err(format!(
                "receipt {no} recorded for this command id is missing"
            ))
        })?;
        let receipt = Receipt::from_sale(
            &self.node.profile,
            &rec.sale,
            rec.seq,
            &rec.hash,
            rec.time_ms,
        );
        Ok(render::completed(&receipt))
    }
}
