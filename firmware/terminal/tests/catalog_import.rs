//! `catalog import` through the real binary: a file with bad rows imports
//! nothing and lists every bad row; a good CSV and a good JSON file import, and
//! the new items sell at once. A restart keeps them (they are journaled).

mod common;

use common::Keel;

const GOOD_CSV: &str =
    "sku,barcodes,name,category,price,tax_class,sold_by,active,kitchen_station\n\
TEA-GREEN,4006381333948,\"Green Tea, 20 bags\",Drinks,2.95,reduced,unit,true,\n\
NUTS,,Mixed Nuts (per kg),Produce,12.80,reduced,weight,yes,\n";

const BAD_CSV: &str = "sku,name,price,tax_class\n\
OK-1,Fine,1.00,standard\n\
BAD-PRICE,Broken,1.234,standard\n\
,No SKU,1.00,standard\n\
BAD-TAX,Luxury,5.00,luxury\n";

#[test]
fn bad_rows_import_nothing_good_files_import_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("t1");
    let bad = dir.path().join("bad.csv");
    let good = dir.path().join("good.csv");
    let json = dir.path().join("more.json");
    std::fs::write(&bad, BAD_CSV).unwrap();
    std::fs::write(&good, GOOD_CSV).unwrap();
    std::fs::write(&json, r#"{"items":[{"sku":"SCONE","name":"Scone","category":"Cafe","price":"2.40","tax_class":"standard","kitchen_station":"kitchen"}]}"#).unwrap();

    let mut k = Keel::start(&data);
    let before = k.ok("catalog list")["items"].as_array().unwrap().len();
    let e = k.err(&format!("catalog import {}", good.display()));
    assert!(e.contains("not logged in"), "{e}");
    k.ok("login 1111");
    let e = k.err(&format!("catalog import {}", good.display()));
    assert!(e.contains("manager role needed"), "{e}");
    k.ok("login 9999");

    // Every bad row is named, and nothing (not even the good row) is imported.
    let e = k.err(&format!("catalog import {}", bad.display()));
    assert!(e.contains("row 3") && e.contains("price"), "{e}");
    assert!(e.contains("row 4") && e.contains("sku"), "{e}");
    assert_eq!(
        k.ok("catalog list")["items"].as_array().unwrap().len(),
        before
    );
    // The unknown tax class is caught against the store's tax table.
    let only_tax = dir.path().join("tax.csv");
    std::fs::write(
        &only_tax,
        "sku,name,price,tax_class\nOK-1,Fine,1.00,standard\nBAD-TAX,Luxury,5.00,luxury\n",
    )
    .unwrap();
    let e = k.err(&format!("catalog import {}", only_tax.display()));
    assert!(e.contains("unknown tax class \"luxury\""), "{e}");
    assert!(k.ok("catalog list OK-1")["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let e = k.err(&format!(
        "catalog import {}",
        dir.path().join("missing.csv").display()
    ));
    assert!(e.contains("cannot read"), "{e}");

    let r = k.ok(&format!("catalog import {}", good.display()));
    assert_eq!(r["imported"], 2);
    let r = k.ok(&format!("catalog import {}", json.display()));
    assert_eq!(r["imported"], 1);
    let items = k.ok("catalog list")["items"].as_array().unwrap().len();
    assert_eq!(items, before + 3);

    // The imported items sell: barcode, weighed by kg, kitchen routing.
    k.ok("shift open 50.00");
    k.ok("sale new");
    k.ok("sale add 4006381333948");
    k.ok("sale add NUTS 0.250");
    let cart = k.ok("sale add SCONE");
    assert_eq!(cart["total"], "8.55", "{cart}"); // 2.95 + 3.20 + 2.40
    k.ok("sale tender cash 10.00");
    let done = k.ok("sale complete");
    assert_eq!(done["change"], "1.45");
    let tickets = k.ok("kitchen list")["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["station"], "kitchen");
    k.quit();

    // Journaled: a restart knows them.
    let mut k = Keel::start(&data);
    let r = k.ok("catalog list TEA-GREEN");
    assert_eq!(r["items"][0]["name"], "Green Tea, 20 bags");
    k.quit();
}
