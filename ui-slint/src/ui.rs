//! [`Ui`]: the window, fed [`ViewModel`] snapshots and turning taps into
//! [`Action`]s handed to a non-blocking sink (a channel sender). The screen
//! state that exists only on screen (which page is up, the cash being keyed,
//! the PIN pad) lives here; everything else comes from the snapshot. Nothing
//! here waits on I/O: every callback returns as soon as its action is sent.

use crate::action::{Action, AddSource, PinPurpose};
use crate::error::UiError;
use crate::generated::{AppWindow, Level, Page, UiActions, UiState};
use crate::keypad::{change_preview, quick_amounts, Key, Keypad};
use crate::models::{self, sync_rows, Models};
use crate::pin::PinEntry;
use crate::view::{MessageKind, ViewModel};
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;

/// Where actions go. Must not block: send on a channel and return.
pub type ActionSink = Box<dyn Fn(Action)>;

/// The window and the screen state behind it.
pub struct Ui {
    window: AppWindow,
    inner: Rc<RefCell<Inner>>,
    /// The screen mode and the kitchen and self-order screens.
    modes: RefCell<crate::mode::ModeScreens>,
    /// The cashier's operations pages (login, shift, receipts, customers, technician).
    ops: Rc<RefCell<crate::screens::ops::Ops>>,
    /// The cashier's counter orders page.
    counter: Rc<RefCell<crate::screens::counter_orders::CounterOrders>>,
}

/// State shared by the callbacks.
struct Inner {
    view: ViewModel,
    models: Models,
    keypad: Keypad,
    quick: Vec<i64>,
    pin: Option<PinEntry>,
    sink: Rc<dyn Fn(Action)>,
    /// Cashier functions (page changes, the PIN pad) only in cashier mode.
    mode: crate::mode::ScreenMode,
    /// Product pictures by SKU (`Ui::set_pictures`).
    pictures: crate::pictures::Pictures,
    /// The camera button was pressed and its answer has not come yet.
    camera_waiting: bool,
    /// The cashier closed the camera's picker (until the next finding).
    picker_closed: bool,
    /// The cashier cancelled the PIN pad of a card payment waiting for
    /// approval (until the snapshot says it no longer waits).
    approval_cancelled: bool,
    /// Requests to focus manual barcode entry so far.
    focus_requests: i32,
}

impl Ui {
    /// Creates the window (on the current Slint platform) with actions going to `sink`.
    pub fn new(sink: ActionSink) -> Result<Ui, UiError> {
        let window = AppWindow::new()?;
        crate::i18n::apply_to_slint();
        let models = Models::attach(&window);
        let sink: Rc<dyn Fn(Action)> = Rc::from(sink);
        let modes = crate::mode::ModeScreens::attach(&window, Rc::clone(&sink));
        let inner = Rc::new(RefCell::new(Inner {
            view: ViewModel::default(),
            models,
            keypad: Keypad::new(),
            quick: Vec::new(),
            pin: None,
            sink,
            mode: crate::mode::ScreenMode::Cashier,
            pictures: crate::pictures::Pictures::default(),
            camera_waiting: false,
            picker_closed: false,
            approval_cancelled: false,
            focus_requests: 0,
        }));
        let ops_sink = Rc::clone(&inner.borrow().sink);
        let ops = crate::screens::ops::Ops::attach(&window, ops_sink, pin_opener(&inner, &window));
        let counter = crate::screens::counter_orders::CounterOrders::attach(
            &window,
            Rc::clone(&inner.borrow().sink),
        );
        let ui = Ui {
            window,
            inner,
            modes: RefCell::new(modes),
            ops,
            counter,
        };
        ui.wire();
        crate::screens::keyboard::attach(&ui.window);
        ui.show(ViewModel::default());
        Ok(ui)
    }

    /// Creates the window with actions going to a channel; returns its receiver.
    pub fn with_channel() -> Result<(Ui, mpsc::Receiver<Action>), UiError> {
        let (tx, rx) = mpsc::channel();
        let ui = Ui::new(Box::new(move |a| {
            // The receiver gone means the terminal is shutting down: drop the action.
            if tx.send(a).is_err() {
                log::debug!("ui: action dropped, nobody listens");
            }
        }))?;
        Ok((ui, rx))
    }

    /// The Slint window (to show it, run the event loop, or render it).
    pub fn window(&self) -> &AppWindow {
        &self.window
    }

    /// Shows a snapshot.
    pub fn show(&self, view: ViewModel) {
        let mut inner = self.inner.borrow_mut();
        inner.view = view;
        inner.apply(&self.window);
        self.modes.borrow().show(&self.window, &inner.view);
        let mode = self.modes.borrow().mode();
        self.ops.borrow_mut().show(&self.window, &inner.view, mode);
        self.counter
            .borrow_mut()
            .show(&self.window, &inner.view, mode);
    }

    /// Sets the product pictures (decoded off the UI thread; see
    /// [`crate::pictures`]) and redraws the tiles with them.
    pub fn set_pictures(&self, buffers: crate::pictures::PictureBuffers) {
        let pictures = crate::pictures::Pictures::from_buffers(buffers);
        log::info!("ui: {} product pictures", pictures.len());
        self.modes.borrow().set_pictures(pictures.clone());
        let view = self.inner.borrow().view.clone();
        self.inner.borrow_mut().pictures = pictures;
        self.show(view);
    }

    /// Sets what the window is for (cashier till, kitchen display, self-order kiosk).
    pub fn set_mode(&self, mode: crate::mode::ScreenMode) {
        self.inner.borrow_mut().mode = mode;
        self.modes.borrow_mut().set_mode(&self.window, mode);
        let inner = self.inner.borrow();
        self.modes.borrow().show(&self.window, &inner.view);
        let mode = self.modes.borrow().mode();
        self.ops.borrow_mut().show(&self.window, &inner.view, mode);
    }

    /// The screen mode.
    pub fn mode(&self) -> crate::mode::ScreenMode {
        self.modes.borrow().mode()
    }

    /// The sound the kitchen display rings for each new order (silent until set).
    pub fn set_chime(&self, chime: Box<dyn crate::screens::chime::Chime>) {
        self.modes.borrow().set_chime(chime);
    }

    /// The kitchen display's station filter (`None`: all stations).
    pub fn kitchen_filter(&self) -> Option<String> {
        self.modes.borrow().kitchen().filter().map(str::to_string)
    }

    /// The self-order kiosk's stage and the order number it shows (a
    /// receipt number, or a counter order's number such as `K2-7`).
    pub fn self_order_stage(&self) -> (crate::screens::self_order::Stage, Option<String>) {
        let modes = self.modes.borrow();
        let s = modes.self_order();
        (s.stage(), s.order_number().map(str::to_string))
    }

    /// The order the counter orders page sent a Take for, until answered.
    pub fn counter_taking(&self) -> Option<String> {
        self.counter.borrow().taking().map(str::to_string)
    }

    /// The page on screen.
    pub fn page(&self) -> Page {
        self.window.global::<UiState<'_>>().get_page()
    }

    fn wire(&self) {
        let actions = self.window.global::<UiActions<'_>>();
        let weak = self.window.as_weak();
        let on = |f: fn(&mut Inner, &AppWindow)| {
            let inner = Rc::downgrade(&self.inner);
            let weak = weak.clone();
            move || {
                if let (Some(inner), Some(w)) = (inner.upgrade(), weak.upgrade()) {
                    f(&mut inner.borrow_mut(), &w);
                }
            }
        };
        let on_str = |f: fn(&mut Inner, &AppWindow, &str)| {
            let inner = Rc::downgrade(&self.inner);
            let weak = weak.clone();
            move |s: SharedString| {
                if let (Some(inner), Some(w)) = (inner.upgrade(), weak.upgrade()) {
                    f(&mut inner.borrow_mut(), &w, s.as_str());
                }
            }
        };
        let on_int = |f: fn(&mut Inner, &AppWindow, i32)| {
            let inner = Rc::downgrade(&self.inner);
            let weak = weak.clone();
            move |n: i32| {
                if let (Some(inner), Some(w)) = (inner.upgrade(), weak.upgrade()) {
                    f(&mut inner.borrow_mut(), &w, n);
                }
            }
        };
        actions.on_select_category(on_str(|i, _, s| {
            i.send(Action::SwitchCategory {
                category: s.to_string(),
            })
        }));
        actions.on_search_edited(on_str(|i, _, s| {
            i.send(Action::ProductSearch {
                query: s.to_string(),
            })
        }));
        actions.on_barcode_entered(on_str(|i, _, s| {
            let code = s.trim();
            if !code.is_empty() {
                i.send(Action::AddItem {
                    code: code.to_string(),
                    source: AddSource::Scan,
                });
            }
        }));
        actions.on_camera(on(|i, w| {
            if i.view.camera && !i.camera_waiting && i.mode == crate::mode::ScreenMode::Cashier {
                i.camera_waiting = true;
                w.global::<UiState<'_>>().set_camera_busy(true);
                i.send(Action::Recognize);
            }
        }));
        actions.on_pick_candidate(on_str(|i, w, sku| {
            i.close_picker(w);
            i.send(Action::AddItem {
                code: sku.to_string(),
                source: AddSource::Scan,
            });
        }));
        actions.on_enter_manually(on(|i, w| {
            i.close_picker(w);
            i.send(Action::DismissMessage);
            i.focus_manual_entry(w);
        }));
        actions.on_tap_product(on_str(|i, _, s| {
            i.send(Action::AddItem {
                code: s.to_string(),
                source: AddSource::Grid,
            })
        }));
        actions.on_line_plus(on_int(|i, _, line| i.step_line(line, 1)));
        actions.on_line_minus(on_int(|i, _, line| i.step_line(line, -1)));
        actions.on_void_line(on_int(|i, _, line| {
            if let Ok(line) = u32::try_from(line) {
                i.send(Action::VoidLine { line });
            }
        }));
        {
            let inner = Rc::downgrade(&self.inner);
            let weak = weak.clone();
            actions.on_show_page(move |page| {
                if let (Some(inner), Some(w)) = (inner.upgrade(), weak.upgrade()) {
                    inner.borrow_mut().go_to(&w, page);
                }
            });
        }
        actions.on_cancel_sale(on(|i, _| i.send(Action::Cancel)));
        actions.on_dismiss_message(on(|i, _| i.send(Action::DismissMessage)));
        actions.on_void_receipt(on(|i, w| {
            if i.mode != crate::mode::ScreenMode::Cashier {
                return;
            }
            if let Some(r) = &i.view.receipt {
                i.pin = Some(PinEntry::new(PinPurpose::VoidReceipt { receipt: r.number }));
                i.apply_pin(w, "");
            }
        }));
        actions.on_keypad(on_str(|i, w, key| {
            if let Some(k) = Key::parse(key) {
                i.keypad.press(k);
                i.apply_keypad(w);
            }
        }));
        actions.on_quick_amount(on_int(|i, w, n| {
            if let Some(&amount) = usize::try_from(n).ok().and_then(|n| i.quick.get(n)) {
                i.keypad.set(amount);
                i.apply_keypad(w);
            }
        }));
        actions.on_tender_cash(on(|i, w| {
            let Some(cart) = &i.view.cart else { return };
            // Nothing keyed: the exact amount still to pay.
            let amount = if i.keypad.is_empty() {
                cart.remaining.minor
            } else {
                i.keypad.minor()
            };
            if amount > 0 {
                i.send(Action::TenderCash { amount });
                i.keypad = Keypad::new();
                i.apply_keypad(w);
            }
        }));
        actions.on_tender_card(on(|i, _| {
            if let Some(cart) = &i.view.cart {
                if cart.remaining.minor > 0 {
                    let amount = cart.remaining.minor;
                    i.send(Action::TenderCard { amount });
                }
            }
        }));
        actions.on_complete(on(|i, _| {
            if i.view.cart.as_ref().is_some_and(|c| c.covered) {
                i.send(Action::Complete);
            }
        }));
        actions.on_pin_key(on_str(|i, w, key| {
            if let Some(p) = &mut i.pin {
                p.press(key);
                i.apply_pin(w, "");
            }
        }));
        actions.on_pin_submit(on(|i, w| {
            let Some(p) = i.pin.take() else { return };
            match p.clone().take() {
                Some((purpose, pin)) => {
                    // A card approval's pad stays up until the answer (a
                    // wrong PIN shows there); the others close at once.
                    if matches!(purpose, PinPurpose::CardApproval { .. }) {
                        i.pin = Some(PinEntry::new(purpose.clone()));
                    }
                    i.send(Action::ManagerAuthorised { purpose, pin });
                    i.apply_pin(w, "");
                }
                None => {
                    i.pin = Some(p);
                    i.apply_pin(w, &crate::i18n::tr("Key the manager's PIN"));
                }
            }
        }));
        actions.on_pin_cancel(on(|i, w| {
            let card = i
                .pin
                .as_ref()
                .is_some_and(|p| matches!(p.purpose, PinPurpose::CardApproval { .. }));
            i.pin = None;
            i.apply_pin(w, "");
            if card {
                // Back to the tender: the card payment no longer waits.
                i.approval_cancelled = true;
                i.send(Action::DismissMessage);
            }
        }));
    }
}

/// Opens the manager PIN pad for a purpose asked by the operations pages
/// (refund, price override, void from the receipts page).
fn pin_opener(inner: &Rc<RefCell<Inner>>, window: &AppWindow) -> crate::screens::ops::PinOpener {
    let (inner, weak) = (Rc::downgrade(inner), window.as_weak());
    Rc::new(move |purpose| {
        if let (Some(i), Some(w)) = (inner.upgrade(), weak.upgrade()) {
            let mut i = i.borrow_mut();
            if i.mode == crate::mode::ScreenMode::Cashier {
                i.pin = Some(PinEntry::new(purpose));
                i.apply_pin(&w, "");
            }
        }
    })
}

impl Inner {
    fn send(&self, action: Action) {
        log::debug!("ui: {}", action.name());
        (self.sink)(action);
    }

    /// +1 or -1 unit on a line; never below one (Void removes a line).
    fn step_line(&self, line: i32, delta: i64) {
        let Some(cart) = &self.view.cart else { return };
        let Some(l) = cart
            .lines
            .iter()
            .find(|l| i64::from(l.line) == i64::from(line))
        else {
            return;
        };
        if l.voided || l.by_weight || cart.tendered {
            return;
        }
        let qty = l.qty.saturating_add(delta);
        if let (true, Ok(qty)) = (qty >= 1, u32::try_from(qty)) {
            self.send(Action::SetQty { line: l.line, qty });
        }
    }

    /// Page changes asked by a screen: to the tender screen only with a sale
    /// that has a live line; back to the sale only before any tender.
    fn go_to(&mut self, w: &AppWindow, page: Page) {
        let cart = self.view.cart.as_ref();
        let cashier = self.mode == crate::mode::ScreenMode::Cashier;
        let allowed = cashier
            && match page {
                Page::Tender => cart.is_some_and(|c| c.lines.iter().any(|l| !l.voided)),
                Page::Sale => !cart.is_some_and(|c| c.tendered),
                Page::Kitchen => true,
                Page::SelfOrder => false,
                // The cashier menu's other pages.
                _ => true,
            };
        if allowed {
            w.global::<UiState<'_>>().set_page(page);
            self.apply_keypad(w);
        }
    }

    fn apply(&mut self, w: &AppWindow) {
        let state = w.global::<UiState<'_>>();
        let view = &self.view;
        state.set_status(models::status_info(view));
        sync_rows(&self.models.categories, models::category_tabs(view));
        let (title, tiles) = models::grid(view, &self.pictures);
        state.set_grid_title(title.into());
        sync_rows(&self.models.products, tiles);
        if state.get_search().as_str() != view.search {
            state.set_search(view.search.as_str().into());
        }
        let cart = view.cart.as_ref();
        state.set_has_sale(cart.is_some());
        sync_rows(
            &self.models.cart,
            cart.map(models::cart_lines).unwrap_or_default(),
        );
        state.set_totals(models::totals(cart));
        let receipt = view.receipt.as_ref();
        state.set_has_receipt(receipt.is_some());
        state.set_receipt_title(
            receipt
                .map(|r| crate::i18n::trf("Receipt {}", &[&r.number]))
                .unwrap_or_else(|| crate::i18n::tr("No sale"))
                .into(),
        );
        sync_rows(
            &self.models.receipt,
            receipt
                .map(|r| r.lines.iter().map(|l| l.as_str().into()).collect())
                .unwrap_or_default(),
        );
        match &view.message {
            Some(m) => {
                let text = crate::camera::message(view).unwrap_or_else(|| m.text.clone());
                state.set_message(text.as_str().into());
                state.set_message_level(match m.kind {
                    MessageKind::Notice => Level::Ok,
                    MessageKind::Error => Level::Bad,
                });
            }
            None => state.set_message(SharedString::new()),
        }
        // Page: no sale means the sale screen; a tendered sale stays on
        // tender (other pages, e.g. the kitchen, are left alone).
        let sale_pages = matches!(state.get_page(), Page::Sale | Page::Tender);
        match cart {
            None => {
                if sale_pages {
                    state.set_page(Page::Sale);
                }
                self.keypad = Keypad::new();
            }
            Some(c) if c.tendered && sale_pages => state.set_page(Page::Tender),
            Some(_) => {}
        }
        self.quick = cart
            .map(|c| quick_amounts(c.remaining.minor, &view.cash_notes))
            .unwrap_or_default();
        let exp = view.currency_exponent;
        let labels: Vec<SharedString> = self
            .quick
            .iter()
            .map(|m| keel_core::money::format_minor(*m, exp).into())
            .collect();
        sync_rows(&self.models.quick_amounts, labels);
        self.apply_keypad(w);
        self.apply_camera(w);
        state.set_risk_note(crate::camera::risk_note(&self.view).into());
        let pin_error = self.apply_card_approval();
        self.apply_pin(w, &pin_error);
    }

    /// The camera button, the picker and manual entry after a snapshot.
    fn apply_camera(&mut self, w: &AppWindow) {
        let state = w.global::<UiState<'_>>();
        state.set_camera_ready(self.view.camera);
        let answered = self.view.recognition.is_some()
            || self
                .view
                .message
                .as_ref()
                .is_some_and(|m| m.kind == MessageKind::Error);
        if self.camera_waiting && answered {
            self.camera_waiting = false;
            if matches!(
                self.view.recognition,
                Some(crate::view::RecognitionView::Manual { .. })
            ) {
                self.focus_manual_entry(w);
            }
        }
        state.set_camera_busy(self.camera_waiting);
        let rows = crate::camera::candidates(&self.view, &self.pictures);
        if rows.is_empty() {
            self.picker_closed = false;
        }
        let cashier = self.mode == crate::mode::ScreenMode::Cashier;
        state.set_picker_visible(cashier && !rows.is_empty() && !self.picker_closed);
        state.set_picker_candidates(slint::ModelRc::new(slint::VecModel::from(rows)));
    }

    /// Opens or closes the PIN pad of a card payment waiting for a manager's
    /// approval; returns the pad's error line.
    fn apply_card_approval(&mut self) -> String {
        let open = self
            .pin
            .as_ref()
            .is_some_and(|p| matches!(p.purpose, PinPurpose::CardApproval { .. }));
        match &self.view.card_approval {
            None => {
                self.approval_cancelled = false;
                if open {
                    self.pin = None;
                }
                String::new()
            }
            Some(a) => {
                let cashier = self.mode == crate::mode::ScreenMode::Cashier;
                if cashier && !self.approval_cancelled && !open && self.pin.is_none() {
                    self.pin = Some(PinEntry::new(PinPurpose::CardApproval {
                        amount: a.amount.minor,
                        amount_text: a.amount.text.clone(),
                    }));
                }
                a.error.clone().unwrap_or_default()
            }
        }
    }

    fn close_picker(&mut self, w: &AppWindow) {
        self.picker_closed = true;
        w.global::<UiState<'_>>().set_picker_visible(false);
    }

    fn focus_manual_entry(&mut self, w: &AppWindow) {
        self.focus_requests = self.focus_requests.wrapping_add(1);
        w.global::<UiState<'_>>()
            .set_focus_manual(self.focus_requests);
    }

    fn apply_keypad(&self, w: &AppWindow) {
        let state = w.global::<UiState<'_>>();
        let exp = self.view.currency_exponent;
        state.set_keypad_text(self.keypad.text(exp).into());
        let remaining = self.view.cart.as_ref().map_or(0, |c| c.remaining.minor);
        let (change, covers) = change_preview(self.keypad.minor(), remaining, exp);
        state.set_keypad_change(change.into());
        state.set_keypad_covers(covers);
    }

    fn apply_pin(&self, w: &AppWindow, error: &str) {
        let state = w.global::<UiState<'_>>();
        match &self.pin {
            Some(p) => {
                state.set_pin_visible(true);
                state.set_pin_title(p.title().into());
                state.set_pin_mask(p.mask().into());
                state.set_pin_error(error.into());
            }
            None => {
                state.set_pin_visible(false);
                state.set_pin_mask(SharedString::new());
                state.set_pin_error(SharedString::new());
            }
        }
    }
}
