//! The disk layout of the dev image: which partitions, in which order, and
//! where each one starts and ends on the disk (GPT, 512-byte sectors, every
//! partition aligned to 1 MiB). Pure: sizes in, sector numbers and the
//! `sgdisk` command line out. Owns only the arithmetic; it must not touch a
//! file (the image builder writes what this computes).

/// Bytes per logical sector of the image (what qemu's virtio disk reports).
pub const SECTOR: u64 = 512;
/// One mebibyte.
pub const MIB: u64 = 1024 * 1024;
/// Every partition starts on a multiple of this (1 MiB, as parted and
/// sgdisk align by default); the first one starts here too.
pub const ALIGN: u64 = MIB;
/// Sectors the backup GPT takes at the end of the disk (header + 128 entries
/// of 128 bytes = 1 + 32 sectors).
pub const BACKUP_GPT_SECTORS: u64 = 33;

/// What the data partition holds besides one downloaded bundle: the
/// journal, the A/B model directories, product pictures, the print spool,
/// with room to spare (MiB).
pub const DATA_HEADROOM_MIB: u64 = 512;

/// Whether a data partition of `data_mib` holds a firmware bundle as big as
/// a whole slot of `slot_mib` (the channel downloads it there, and `ota
/// install` from a device copies it there, before the slot is written) plus
/// [`DATA_HEADROOM_MIB`].
pub fn data_holds_a_bundle(slot_mib: u64, data_mib: u64) -> bool {
    data_mib >= slot_mib + DATA_HEADROOM_MIB
}

/// The file system a partition carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileSystem {
    /// FAT32: the EFI system partition.
    Fat,
    /// ext4: the root file systems and the data partition.
    Ext4,
}

/// One partition as the board describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSpec {
    /// The GPT partition name (PARTLABEL), also the file system label. The
    /// A/B logic finds partitions by these: `boot`, `rootfs-a`, `rootfs-b`, `data`.
    pub label: &'static str,
    /// sgdisk's type code: `ef00` (EFI system), `8304` (Linux x86-64 root), `8300` (Linux data).
    pub type_code: &'static str,
    /// Size in MiB.
    pub size_mib: u64,
    /// What goes on it.
    pub fs: FileSystem,
}

/// A partition placed on the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The partition.
    pub spec: PartitionSpec,
    /// GPT partition number (1-based).
    pub number: u32,
    /// First sector.
    pub first_lba: u64,
    /// Last sector (inclusive, as GPT stores it).
    pub last_lba: u64,
}

impl Placed {
    /// Byte offset of the partition on the disk.
    pub fn offset_bytes(&self) -> u64 {
        self.first_lba * SECTOR
    }

    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        (self.last_lba + 1 - self.first_lba) * SECTOR
    }
}

/// The whole disk: its partitions and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskLayout {
    /// The partitions in disk order.
    pub partitions: Vec<Placed>,
    /// Size of the image file in bytes (a multiple of 1 MiB).
    pub disk_bytes: u64,
}

/// The layout every x86_64 board uses (board/qemu-x86_64/board.toml lists the
/// same): a 64 MiB EFI system partition, two root file system slots of
/// `rootfs_mib` each, and the data partition (journal, models) of `data_mib`.
pub fn ab_partitions(rootfs_mib: u64, data_mib: u64) -> Vec<PartitionSpec> {
    vec![
        PartitionSpec {
            label: "boot",
            type_code: "ef00",
            size_mib: 64,
            fs: FileSystem::Fat,
        },
        PartitionSpec {
            label: "rootfs-a",
            type_code: "8304",
            size_mib: rootfs_mib,
            fs: FileSystem::Ext4,
        },
        PartitionSpec {
            label: "rootfs-b",
            type_code: "8304",
            size_mib: rootfs_mib,
            fs: FileSystem::Ext4,
        },
        PartitionSpec {
            label: "data",
            type_code: "8300",
            size_mib: data_mib,
            fs: FileSystem::Ext4,
        },
    ]
}

/// Why a layout cannot be placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// No partitions at all.
    Empty,
    /// A partition of size zero.
    ZeroSize(&'static str),
    /// Two partitions with the same label (the A/B logic could not tell them apart).
    DuplicateLabel(&'static str),
    /// A label GPT cannot store (at most 36 UTF-16 units) or sgdisk cannot take.
    BadLabel(&'static str),
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutError::Empty => write!(f, "the layout has no partitions"),
            LayoutError::ZeroSize(l) => write!(f, "partition `{l}` has size 0"),
            LayoutError::DuplicateLabel(l) => write!(f, "two partitions are labelled `{l}`"),
            LayoutError::BadLabel(l) => write!(
                f,
                "partition label `{l}`: use 1 to 36 characters from a-z, 0-9 and -"
            ),
        }
    }
}

/// Places `specs` in order: the first at 1 MiB (after the protective MBR and
/// the primary GPT), each next one at the following 1 MiB boundary, and 1 MiB
/// left at the end for the backup GPT.
pub fn place(specs: &[PartitionSpec]) -> Result<DiskLayout, LayoutError> {
    if specs.is_empty() {
        return Err(LayoutError::Empty);
    }
    let mut partitions = Vec::with_capacity(specs.len());
    let mut next = ALIGN / SECTOR;
    for (i, spec) in specs.iter().enumerate() {
        let label_ok = !spec.label.is_empty()
            && spec.label.len() <= 36
            && spec
                .label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !label_ok {
            return Err(LayoutError::BadLabel(spec.label));
        }
        if spec.size_mib == 0 {
            return Err(LayoutError::ZeroSize(spec.label));
        }
        if specs[..i].iter().any(|s| s.label == spec.label) {
            return Err(LayoutError::DuplicateLabel(spec.label));
        }
        let sectors = spec.size_mib * MIB / SECTOR;
        partitions.push(Placed {
            spec: spec.clone(),
            number: i as u32 + 1,
            first_lba: next,
            last_lba: next + sectors - 1,
        });
        next += sectors;
    }
    // `next` is 1 MiB aligned: every size is whole MiB.
    let disk_bytes = next * SECTOR + ALIGN;
    Ok(DiskLayout {
        partitions,
        disk_bytes,
    })
}

impl DiskLayout {
    /// The partition labelled `label`.
    pub fn get(&self, label: &str) -> Option<&Placed> {
        self.partitions.iter().find(|p| p.spec.label == label)
    }

    /// The sgdisk arguments that write this partition table onto the image
    /// file (a fresh GPT, then each partition at its exact sectors, its type
    /// and its name).
    pub fn sgdisk_args(&self) -> Vec<String> {
        let mut args = vec!["--clear".to_string()];
        for p in &self.partitions {
            args.push(format!("--new={}:{}:{}", p.number, p.first_lba, p.last_lba));
            args.push(format!("--typecode={}:{}", p.number, p.spec.type_code));
            args.push(format!("--change-name={}:{}", p.number, p.spec.label));
        }
        args
    }

    /// The last sector a partition may use (before the backup GPT).
    pub fn last_usable_lba(&self) -> u64 {
        self.disk_bytes / SECTOR - BACKUP_GPT_SECTORS - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ab_layout_is_aligned_and_contiguous() {
        let layout = place(&ab_partitions(1024, 256)).unwrap();
        let labels: Vec<_> = layout.partitions.iter().map(|p| p.spec.label).collect();
        assert_eq!(labels, ["boot", "rootfs-a", "rootfs-b", "data"]);
        let boot = layout.get("boot").unwrap();
        assert_eq!(boot.first_lba, 2048);
        assert_eq!(boot.offset_bytes(), MIB);
        assert_eq!(boot.size_bytes(), 64 * MIB);
        assert_eq!(boot.last_lba, 2048 + 64 * 2048 - 1);
        let a = layout.get("rootfs-a").unwrap();
        assert_eq!(a.first_lba, boot.last_lba + 1);
        assert_eq!(a.offset_bytes(), 65 * MIB);
        assert_eq!(a.size_bytes(), 1024 * MIB);
        let b = layout.get("rootfs-b").unwrap();
        assert_eq!(b.offset_bytes(), (65 + 1024) * MIB);
        let data = layout.get("data").unwrap();
        assert_eq!(data.offset_bytes(), (65 + 2048) * MIB);
        assert_eq!(data.number, 4);
        for p in &layout.partitions {
            assert_eq!(p.offset_bytes() % ALIGN, 0, "{}", p.spec.label);
        }
        // 1 MiB before, the partitions, 1 MiB after for the backup GPT.
        assert_eq!(layout.disk_bytes, (1 + 64 + 2048 + 256 + 1) * MIB);
        assert!(data.last_lba <= layout.last_usable_lba());
    }

    #[test]
    fn sgdisk_gets_exact_sectors_types_and_names() {
        let layout = place(&ab_partitions(512, 128)).unwrap();
        let args = layout.sgdisk_args();
        assert_eq!(args[0], "--clear");
        assert_eq!(args[1], "--new=1:2048:133119");
        assert_eq!(args[2], "--typecode=1:ef00");
        assert_eq!(args[3], "--change-name=1:boot");
        assert_eq!(args[4], "--new=2:133120:1181695");
        assert_eq!(args[6], "--change-name=2:rootfs-a");
        assert_eq!(args.len(), 1 + 3 * 4);
    }

    #[test]
    fn the_data_partition_must_hold_a_slot_sized_bundle_and_headroom() {
        assert!(data_holds_a_bundle(1024, 1536));
        assert!(!data_holds_a_bundle(1024, 1535));
        assert!(!data_holds_a_bundle(1024, 256));
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert_eq!(place(&[]), Err(LayoutError::Empty));
        let mut specs = ab_partitions(512, 128);
        specs[3].size_mib = 0;
        assert_eq!(place(&specs), Err(LayoutError::ZeroSize("data")));
        let mut specs = ab_partitions(512, 128);
        specs[2].label = "rootfs-a";
        assert_eq!(place(&specs), Err(LayoutError::DuplicateLabel("rootfs-a")));
        let mut specs = ab_partitions(512, 128);
        specs[0].label = "Boot Partition";
        assert_eq!(place(&specs), Err(LayoutError::BadLabel("Boot Partition")));
    }
}
