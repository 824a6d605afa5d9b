//! Product pictures end to end on a real demo node (journal in a temp dir):
//! demo pictures painted into a temp images dir for some SKUs, decoded by the
//! loader thread, handed to the screens; the sale grid's model rows carry a
//! picture for those SKUs only, the rendered frame shows the picture's
//! colours on the tile (a tap there adds that very product), and on the
//! threaded kiosk a picture added to the directory later reaches the screen.

use keel_kiosk::demo_pictures::{self, DemoProduct};
use keel_kiosk::pictures::{PictureFeed, PictureLoader};
use keel_kiosk::{HeadlessKiosk, Kiosk};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices};
use keel_ui::generated::UiState;
use keel_ui::headless::{advance_clock, HeadlessUi};
use keel_ui::image::Image;
use slint::{ComponentHandle, Model};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CASHIER: &str = "1111";

fn open_node(dir: &Path) -> Arc<Mutex<Node>> {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    Arc::new(Mutex::new(node))
}

fn product(sku: &str) -> DemoProduct {
    demo_pictures::demo_products()
        .into_iter()
        .find(|p| p.sku == sku)
        .unwrap()
}

/// Paints the demo picture of `sku` into `dir`.
fn paint(dir: &Path, sku: &str) {
    demo_pictures::paint(&product(sku))
        .save_png(&dir.join(format!("{sku}.png")))
        .unwrap();
}

/// The SKUs on the sale grid with a picture, and those without.
fn grid(state: &UiState<'_>) -> (Vec<String>, Vec<String>) {
    let tiles = state.get_products();
    let with = tiles
        .iter()
        .filter(|t| t.has_picture)
        .map(|t| t.sku.to_string())
        .collect();
    let without = tiles
        .iter()
        .filter(|t| !t.has_picture)
        .map(|t| t.sku.to_string())
        .collect();
    (with, without)
}

/// The bounding box of the pixels of exactly `rgb` in `frame` and how many there are.
fn find_colour(frame: &Image, rgb: [u8; 3]) -> (usize, (u32, u32, u32, u32)) {
    let mut n = 0;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..frame.height() {
        for x in 0..frame.width() {
            if frame.pixel(x, y).is_some_and(|p| p[..3] == rgb) {
                n += 1;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    (n, (x0, y0, x1, y1))
}

#[test]
fn the_sale_grid_shows_the_pictures_of_the_skus_that_have_one() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    paint(&images, "CHOC-100");
    paint(&images, "COFFEE-500");
    // A damaged file next to them is skipped, not fatal.
    std::fs::write(images.join("MILK-1L.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    let loader = PictureLoader::start(images.clone(), Duration::from_millis(50)).unwrap();
    let set = loader
        .wait(Duration::from_secs(10))
        .expect("pictures decoded");
    let mut skus: Vec<&String> = set.keys().collect();
    skus.sort();
    assert_eq!(skus, ["CHOC-100", "COFFEE-500"]);

    let bridge = UiBridge::new(
        open_node(&dir.path().join("journal")),
        UiServices::default(),
    );
    let mut k = HeadlessKiosk::new(bridge, 1024, 768, None).unwrap();
    assert!(k
        .send(UiAction::Login {
            pin: CASHIER.into()
        })
        .user
        .is_some());
    assert!(k.send(UiAction::ShiftOpen { float: 0 }).shift.is_some());
    k.send(UiAction::SwitchCategory {
        category: "Grocery".into(),
    });
    let window = k.window();
    let state = window.global::<UiState<'_>>();
    let choc = demo_pictures::colour("CHOC-100");
    // Before the pictures: no tile has one, the packaging colour is nowhere.
    let (with, without) = grid(&state);
    assert!(with.is_empty() && without.len() >= 3, "{without:?}");
    let (n, _) = find_colour(&k.screens().render().unwrap(), choc);
    assert_eq!(n, 0);

    k.screens().ui().set_pictures(set);
    let (mut with, without) = grid(&state);
    with.sort();
    assert_eq!(with, ["CHOC-100", "COFFEE-500"]);
    assert!(without.contains(&"MILK-1L".to_string()), "{without:?}");
    let frame = k.screens().render().unwrap();
    let (n, (x0, y0, x1, y1)) = find_colour(&frame, choc);
    assert!(n > 100, "CHOC-100's picture not drawn ({n} pixels)");
    // On the product grid (left of the cart, below the tabs and search).
    assert!(x1 < 1024 - 380 && y0 > 150, "{x0},{y0} {x1},{y1}");
    // The picture is on CHOC-100's own tile: a tap there adds it.
    k.screens()
        .tap(((x0 + x1) / 2) as f32, ((y0 + y1) / 2) as f32);
    assert!(k.pump() >= 1);
    let cart = k.snapshot().cart.clone().expect("a sale");
    assert_eq!(cart.lines.len(), 1);
    assert_eq!(cart.lines[0].name, product("CHOC-100").name);
}

#[test]
fn the_threaded_kiosk_picks_up_a_picture_added_later() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    paint(&images, "ESPRESSO");
    keel_ui::headless::install().unwrap();
    let k = Kiosk::start(
        open_node(&dir.path().join("journal")),
        UiServices::default(),
        None,
        |sink| HeadlessUi::new(1024, 768, sink),
    )
    .unwrap();
    let feed = PictureFeed::start(
        PictureLoader::start(images.clone(), Duration::from_millis(50)).unwrap(),
        &k,
    );
    k.send(UiAction::Login {
        pin: CASHIER.into(),
    })
    .unwrap();
    k.send(UiAction::ShiftOpen { float: 0 }).unwrap();
    k.send(UiAction::SwitchCategory {
        category: "Cafe".into(),
    })
    .unwrap();
    let window = k.screens().ui().window();
    let state = window.global::<UiState<'_>>();
    let wait = |done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out: {:?}", grid(&state));
            std::thread::sleep(Duration::from_millis(10));
            // The kiosk's timers (snapshots, pictures) run on this thread.
            advance_clock(Duration::from_millis(50));
        }
    };
    wait(&|| grid(&state).0 == ["ESPRESSO"]);
    let shown = feed.sets_shown();
    assert!(shown >= 1);
    paint(&images, "TEA");
    wait(&|| grid(&state).0.len() == 2);
    let (mut with, _) = grid(&state);
    with.sort();
    assert_eq!(with, ["ESPRESSO", "TEA"]);
    assert!(feed.sets_shown() > shown);
    // Removed from the directory: gone from the screen.
    std::fs::remove_file(images.join("ESPRESSO.png")).unwrap();
    wait(&|| grid(&state).0 == ["TEA"]);
}

#[test]
fn the_demo_kiosk_paints_its_catalogs_pictures_into_an_empty_images_dir() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel-kiosk"))
        .args(["--demo", "--json", "--size", "1024x768", "--data-dir"])
        .arg(&data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("KEEL_UI_BACKEND", "headless")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // A console reply: the terminal is up (the pictures are painted before the UI starts).
    writeln!(stdin, "login 1111").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"ok\":true"), "{line}");
    let images = keel_kiosk::pictures::images_dir(&data);
    let set = keel_kiosk::pictures::scan(&images);
    let products = demo_pictures::demo_products();
    assert_eq!(set.len(), products.len());
    for p in &products {
        assert!(set.contains_key(&p.sku), "{}", p.sku);
    }
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("keel-kiosk did not end with its console");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
