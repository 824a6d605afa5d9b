//! From the view-model to what the .slint screens read: pure functions that
//! build the Slint structs, and [`Models`], the list models set once on
//! [`UiState`] and updated row by row (only changed rows are touched, so a
//! 40-line cart does not rebuild on every snapshot).

use crate::generated::{
    AppWindow, CartLine, CategoryTab, Level, ProductTile, StatusInfo, StatusItem, Totals, UiState,
};
use crate::i18n::{tr, trf, trn};
use crate::view::{CartView, CloudState, StatusView, ViewModel};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use std::rc::Rc;

/// The status bar from the view-model.
pub fn status_info(view: &ViewModel) -> StatusInfo {
    let s = &view.status;
    let user = match &view.user {
        Some(u) => format!("{} · {}", view.terminal, u),
        None => trf("{} · signed out", &[&view.terminal]),
    };
    StatusInfo {
        store: view.store_name.as_str().into(),
        user: user.into(),
        cloud: cloud_item(s.cloud),
        pending: pending_item(s),
        cluster: cluster_item(s),
        printer: printer_item(s),
        ai: ai_item(s),
    }
}

fn item(label: String, level: Level) -> StatusItem {
    StatusItem {
        label: label.into(),
        level,
    }
}

fn cloud_item(cloud: CloudState) -> StatusItem {
    match cloud {
        CloudState::None => item(tr("No cloud"), Level::Idle),
        CloudState::Online => item(tr("Online"), Level::Ok),
        CloudState::Connecting => item(tr("Connecting"), Level::Warn),
        CloudState::Offline => item(tr("Offline"), Level::Bad),
    }
}

fn pending_item(s: &StatusView) -> StatusItem {
    match s.pending_sync {
        None => item(tr("Sync –"), Level::Idle),
        Some(0) => item(tr("Synced"), Level::Ok),
        Some(n) => item(trf("{} to sync", &[&n]), Level::Warn),
    }
}

fn cluster_item(s: &StatusView) -> StatusItem {
    if s.standalone {
        return item(tr("Standalone"), Level::Idle);
    }
    let peers = trf("{}/{} peers", &[&s.peers_connected, &s.peers_total]);
    match (s.leader, s.is_leader) {
        (Some(_), true) => item(trf("Leader (here), {}", &[&peers]), Level::Ok),
        (Some(l), false) => item(
            trf("Leader T{}, {}", &[&format!("{l:02}"), &peers]),
            Level::Ok,
        ),
        (None, _) => item(trf("No leader, {}", &[&peers]), Level::Bad),
    }
}

fn printer_item(s: &StatusView) -> StatusItem {
    let level = match s.printer.as_str() {
        "ready" => Level::Ok,
        "none" => Level::Idle,
        "paper low" | "paper near end" => Level::Warn,
        _ => Level::Bad,
    };
    let state = printer_state(&s.printer);
    let label = if s.print_queue > 0 {
        trf("Printer {} ({} queued)", &[&state, &s.print_queue])
    } else {
        trf("Printer {}", &[&state])
    };
    item(label, level)
}

/// The printer's state word (as the terminal names it) in the selected
/// language; a word this list does not know is shown as it is.
fn printer_state(word: &str) -> String {
    match word {
        "ready" => tr("ready"),
        "none" => tr("none"),
        "paper low" => tr("paper low"),
        "paper near end" => tr("paper near end"),
        "paper out" => tr("paper out"),
        "cover open" => tr("cover open"),
        "error" => tr("error"),
        "offline" => tr("offline"),
        "not answering" => tr("not answering"),
        other => other.to_string(),
    }
}

fn ai_item(s: &StatusView) -> StatusItem {
    match &s.ai_model {
        Some(m) => item(trf("AI {}", &[m]), Level::Ok),
        None => item(tr("AI off"), Level::Idle),
    }
}

/// The category tabs, the selected one marked.
pub fn category_tabs(view: &ViewModel) -> Vec<CategoryTab> {
    view.categories
        .iter()
        .map(|c| CategoryTab {
            name: c.name.as_str().into(),
            selected: view.search.trim().is_empty() && view.category.as_deref() == Some(&c.name),
        })
        .collect()
}

/// The grid's title and tiles: the search results while a search is typed,
/// else the selected category's products; each with its picture from
/// `pictures`, if it has one.
pub fn grid(view: &ViewModel, pictures: &crate::pictures::Pictures) -> (String, Vec<ProductTile>) {
    let tile = |p: &crate::view::ProductView| {
        let (picture, has_picture) = pictures.tile(&p.sku);
        ProductTile {
            sku: p.sku.as_str().into(),
            name: p.name.as_str().into(),
            price_text: p.price_text.as_str().into(),
            picture,
            has_picture,
        }
    };
    if !view.search.trim().is_empty() {
        let n = view.search_results.len();
        let title = trf("{} found for “{}”", &[&n, &view.search.trim()]);
        return (title, view.search_results.iter().map(tile).collect());
    }
    let selected = view
        .category
        .as_deref()
        .and_then(|name| view.categories.iter().find(|c| c.name == name));
    match selected {
        Some(c) => (
            trf("{} · {} products", &[&c.name, &c.products.len()]),
            c.products.iter().map(tile).collect(),
        ),
        None => (String::new(), Vec::new()),
    }
}

/// The cart's lines.
pub fn cart_lines(cart: &CartView) -> Vec<CartLine> {
    cart.lines
        .iter()
        .map(|l| CartLine {
            line: i32::try_from(l.line).unwrap_or(i32::MAX),
            name: l.name.as_str().into(),
            qty_text: l.qty_text.as_str().into(),
            unit_price_text: l.unit_price.text.as_str().into(),
            amount_text: l.amount.text.as_str().into(),
            voided: l.voided,
            editable: !l.voided && !l.by_weight && !cart.tendered,
            voidable: !l.voided && !cart.tendered,
        })
        .collect()
}

/// The cart's totals (all empty without a sale).
pub fn totals(cart: Option<&CartView>) -> Totals {
    let Some(c) = cart else {
        return Totals::default();
    };
    let live = c.lines.iter().filter(|l| !l.voided).count();
    Totals {
        items: trn(
            "{} item",
            "{} items",
            i64::try_from(live).unwrap_or(i64::MAX),
        )
        .into(),
        subtotal: c.subtotal.text.as_str().into(),
        discount: c.discount.text.as_str().into(),
        has_discount: c.discount.minor != 0,
        tax: c.tax.text.as_str().into(),
        total: c.total.text.as_str().into(),
        paid: c.paid.text.as_str().into(),
        remaining: c.remaining.text.as_str().into(),
        change: c.change.text.as_str().into(),
        covered: c.covered,
        tendered: c.tendered,
    }
}

/// Makes `model` hold `rows`, touching only the rows that changed.
pub fn sync_rows<T: Clone + PartialEq + 'static>(model: &VecModel<T>, rows: Vec<T>) {
    let old = model.row_count();
    for (i, row) in rows.iter().enumerate() {
        if i < old {
            if model.row_data(i).as_ref() != Some(row) {
                model.set_row_data(i, row.clone());
            }
        } else {
            model.push(row.clone());
        }
    }
    for i in (rows.len()..old).rev() {
        model.remove(i);
    }
}

/// The list models the screens read, set once on [`UiState`].
pub struct Models {
    /// Category tabs.
    pub categories: Rc<VecModel<CategoryTab>>,
    /// Product grid.
    pub products: Rc<VecModel<ProductTile>>,
    /// Cart lines.
    pub cart: Rc<VecModel<CartLine>>,
    /// Receipt preview lines.
    pub receipt: Rc<VecModel<SharedString>>,
    /// Quick-amount labels.
    pub quick_amounts: Rc<VecModel<SharedString>>,
}

impl Models {
    /// Empty models, set on the window's [`UiState`].
    pub fn attach(window: &AppWindow) -> Models {
        let m = Models {
            categories: Rc::new(VecModel::default()),
            products: Rc::new(VecModel::default()),
            cart: Rc::new(VecModel::default()),
            receipt: Rc::new(VecModel::default()),
            quick_amounts: Rc::new(VecModel::default()),
        };
        let state = window.global::<UiState<'_>>();
        state.set_categories(ModelRc::from(m.categories.clone()));
        state.set_products(ModelRc::from(m.products.clone()));
        state.set_cart(ModelRc::from(m.cart.clone()));
        state.set_receipt(ModelRc::from(m.receipt.clone()));
        state.set_quick_amounts(ModelRc::from(m.quick_amounts.clone()));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_rows_touches_only_what_changed() {
        let m = VecModel::from(vec![1, 2, 3, 4]);
        sync_rows(&m, vec![1, 5, 3]);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![1, 5, 3]);
        sync_rows(&m, vec![1, 5, 3, 6, 7]);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![1, 5, 3, 6, 7]);
        sync_rows(&m, vec![]);
        assert_eq!(m.row_count(), 0);
    }
}
