//! Checks of the layer's wic kickstart file (`files/wic/keel-ab.wks.in`)
//! against the disk layout the A/B logic relies on: a GPT with exactly the
//! partitions boot (vfat), rootfs-a and rootfs-b (ext4, the same fixed size)
//! and data (ext4), in that order, each with its GPT name equal to its file
//! system label. Pure: text in, problems out; it must not read files.

/// The partitions, in disk order, the OTA updater, fstab and the boot
/// scripts find by name (the dev image's layout has the same).
pub const LABELS: [&str; 4] = ["boot", "rootfs-a", "rootfs-b", "data"];

/// One `part` line's options that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    /// 1-based line.
    pub line: usize,
    /// `--label`.
    pub label: Option<String>,
    /// `--part-name` (the GPT partition name, PARTLABEL).
    pub part_name: Option<String>,
    /// `--fstype`.
    pub fstype: Option<String>,
    /// `--fixed-size`.
    pub fixed_size: Option<String>,
}

/// The `part` lines of `text`.
pub fn parts(text: &str) -> Vec<Part> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        if words.next() != Some("part") {
            continue;
        }
        let mut part = Part {
            line: i + 1,
            ..Part::default()
        };
        let words: Vec<&str> = words.collect();
        let mut j = 0;
        while j < words.len() {
            let (key, inline) = match words[j].split_once('=') {
                Some((k, v)) => (k, Some(v.trim_matches('"').to_string())),
                None => (words[j], None),
            };
            let value = || {
                inline
                    .clone()
                    .or_else(|| words.get(j + 1).map(|v| v.trim_matches('"').to_string()))
            };
            let slot = match key {
                "--label" => Some(&mut part.label),
                "--part-name" => Some(&mut part.part_name),
                "--fstype" => Some(&mut part.fstype),
                "--fixed-size" => Some(&mut part.fixed_size),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = value();
                if inline.is_none() {
                    j += 1;
                }
            }
            j += 1;
        }
        out.push(part);
    }
    out
}

/// The names of the `${VAR}` references in `text` outside comments (wic
/// expands them from the image recipe in a `.wks.in` file), each once, in
/// order.
pub fn references(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                break;
            };
            let name = after[..end].to_string();
            if !out.contains(&name) {
                out.push(name);
            }
            rest = &after[end + 1..];
        }
    }
    out
}

/// What is wrong with the kickstart `text`, one message per problem (empty
/// when it has the A/B layout).
pub fn check(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let gpt = text.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.first() == Some(&"bootloader") && w.windows(2).any(|p| p == ["--ptable", "gpt"])
    });
    if !gpt {
        problems.push("no `bootloader --ptable gpt` line: partition names need a GPT".to_string());
    }
    let parts = parts(text);
    let labels: Vec<&str> = parts
        .iter()
        .map(|p| p.label.as_deref().unwrap_or("<no --label>"))
        .collect();
    if labels != LABELS {
        problems.push(format!(
            "partition labels are {labels:?}, they must be exactly {LABELS:?} in this order"
        ));
    }
    for p in &parts {
        if p.part_name != p.label {
            problems.push(format!(
                "line {}: --part-name {:?} differs from --label {:?} (both must be the partition's name)",
                p.line, p.part_name, p.label
            ));
        }
        let want = match p.label.as_deref() {
            Some("boot") => "vfat",
            _ => "ext4",
        };
        if p.fstype.as_deref() != Some(want) {
            problems.push(format!(
                "line {}: partition {:?} has --fstype {:?}, it must be {want}",
                p.line, p.label, p.fstype
            ));
        }
    }
    let slot_size = |label: &str| {
        parts
            .iter()
            .find(|p| p.label.as_deref() == Some(label))
            .and_then(|p| p.fixed_size.clone())
    };
    match (slot_size("rootfs-a"), slot_size("rootfs-b")) {
        (Some(a), Some(b)) if a == b => {}
        (a, b) => problems.push(format!(
            "rootfs-a and rootfs-b need the same --fixed-size (an update writes one slot's image into the other), got {a:?} and {b:?}"
        )),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "bootloader --ptable gpt --timeout=0\n\
        part --source bootimg_partition --fstype=vfat --label boot --part-name boot --fixed-size 64M\n\
        part / --source rootfs --fstype=ext4 --label rootfs-a --part-name rootfs-a --fixed-size 1024M\n\
        part --source rootfs --fstype=ext4 --label rootfs-b --part-name rootfs-b --fixed-size 1024M\n\
        part --source rootfs --fstype=ext4 --label=data --part-name=\"data\" --size 512M\n";

    #[test]
    fn the_ab_layout_passes() {
        assert_eq!(check(GOOD), Vec::<String>::new());
        let p = parts(GOOD);
        assert_eq!(p[3].label.as_deref(), Some("data"));
        assert_eq!(p[3].part_name.as_deref(), Some("data"));
        assert_eq!(p[1].fixed_size.as_deref(), Some("1024M"));
    }

    #[test]
    fn references_are_listed_once() {
        let text = "# uses ${COMMENT}\npart --fixed-size ${A}M\npart --rootfs-dir=${IMAGE_ROOTFS}/x --size ${A}M ${B}";
        assert_eq!(references(text), ["A", "IMAGE_ROOTFS", "B"]);
    }

    #[test]
    fn each_deviation_is_named() {
        let cases = [
            (GOOD.replace("--label boot", "--label esp"), "labels"),
            (
                GOOD.replace("--part-name rootfs-b", "--part-name slot-b"),
                "--part-name",
            ),
            (
                GOOD.replace("rootfs-b --fixed-size 1024M", "rootfs-b --fixed-size 900M"),
                "same --fixed-size",
            ),
            (
                GOOD.replace("--fstype=vfat", "--fstype=ext4"),
                "must be vfat",
            ),
            (GOOD.replace("--ptable gpt", "--ptable msdos"), "GPT"),
            (
                GOOD.lines()
                    .filter(|l| !l.contains("data"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                "labels",
            ),
        ];
        for (text, expected) in cases {
            let problems = check(&text);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected a problem about {expected:?}, got {problems:?}"
            );
        }
    }
}
