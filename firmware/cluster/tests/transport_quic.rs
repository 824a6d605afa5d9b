//! The QUIC transport over real sockets on 127.0.0.1 (ephemeral ports): messages on
//! every channel, refusals (foreign CA, other store), framing violations, peer restart
//! and simultaneous dial.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_cluster::identity::{StoreCa, TerminalIdentity};
use keel_cluster::tls;
use keel_cluster::transport::{
    Channel, Incoming, SendError, Transport, TransportConfig, TransportEvent,
};
use keel_core::ids::{StoreId, TerminalId};

fn store(s: &str) -> StoreId {
    StoreId(s.to_string())
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(
    ca_pem: &str,
    id: TerminalIdentity,
    st: &str,
    t: u32,
    listen: SocketAddr,
) -> TransportConfig {
    let mut cfg = TransportConfig::new(listen, store(st), TerminalId(t), ca_pem.to_string(), id);
    cfg.seed = 42 + u64::from(t);
    cfg
}

async fn start(ca: &StoreCa, t: u32) -> Transport {
    let id = ca.issue_terminal(TerminalId(t)).unwrap();
    Transport::bind(config(
        &ca.cert_pem(),
        id,
        ca.store().0.as_str(),
        t,
        any_port(),
    ))
    .await
    .unwrap()
}

/// Waits for an event matching `pred`, returning it; panics after `within` with what was seen.
async fn expect(
    t: &Transport,
    within: Duration,
    what: &str,
    pred: impl Fn(&TransportEvent) -> bool,
) -> TransportEvent {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = smol::future::or(async { Some(t.next_event().await) }, async {
            smol::Timer::after(left).await;
            None
        })
        .await;
        match ev {
            Some(e) if pred(&e) => return e,
            Some(e) => seen.push(e),
            None => panic!(
                "{}: no {what} within {within:?}; saw {seen:?}",
                t.terminal()
            ),
        }
    }
}

/// Collects events for `d` (none may match `bad`).
async fn quiet(
    t: &Transport,
    d: Duration,
    bad: impl Fn(&TransportEvent) -> bool,
) -> Vec<TransportEvent> {
    let deadline = Instant::now() + d;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = smol::future::or(async { Some(t.next_event().await) }, async {
            smol::Timer::after(left).await;
            None
        })
        .await;
        match ev {
            Some(e) => {
                assert!(!bad(&e), "{}: unexpected {e:?}", t.terminal());
                seen.push(e);
            }
            None => return seen,
        }
    }
}

fn is_up(peer: u32) -> impl Fn(&TransportEvent) -> bool {
    move |e| matches!(e, TransportEvent::PeerUp(p, _) if p.0 == peer)
}

async fn connect_pair(a: &Transport, b: &Transport) {
    a.set_peer_addr(b.terminal(), b.local_addr());
    b.set_peer_addr(a.terminal(), a.local_addr());
    expect(a, Duration::from_secs(5), "PeerUp", is_up(b.terminal().0)).await;
    expect(b, Duration::from_secs(5), "PeerUp", is_up(a.terminal().0)).await;
    settle(&[a, b]).await;
}

/// Waits until each transport holds exactly one open QUIC connection.
async fn settle(ts: &[&Transport]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while ts.iter().any(|t| t.open_connections() != 1) {
        assert!(
            Instant::now() < deadline,
            "connections did not settle to one each"
        );
        smol::Timer::after(Duration::from_millis(20)).await;
    }
}

/// Round trip of one Control message each way.
async fn ping(a: &Transport, b: &Transport, tag: &str) {
    a.send(b.terminal(), Channel::Control, tag.as_bytes().to_vec())
        .unwrap();
    let want = tag.as_bytes().to_vec();
    expect(
        b,
        Duration::from_secs(5),
        "ping",
        |e| matches!(e, TransportEvent::Message(m) if m.payload == want),
    )
    .await;
    b.send(a.terminal(), Channel::Control, tag.as_bytes().to_vec())
        .unwrap();
    expect(
        a,
        Duration::from_secs(5),
        "pong",
        |e| matches!(e, TransportEvent::Message(m) if m.payload == want),
    )
    .await;
}

#[test]
fn messages_on_all_channels_both_ways_in_order() {
    smol::block_on(async {
        let ca = StoreCa::generate(&store("demo")).unwrap();
        let a = start(&ca, 1).await;
        let b = start(&ca, 2).await;
        connect_pair(&a, &b).await;

        const N: u32 = 200;
        for i in 0..N {
            for ch in Channel::ALL {
                let mut p = vec![ch.tag()];
                p.extend_from_slice(&i.to_be_bytes());
                a.send(b.terminal(), ch, p.clone()).unwrap();
                b.send(a.terminal(), ch, p).unwrap();
            }
        }
        // A frame exactly at the limit, and one over it.
        let max = keel_cluster::transport::DEFAULT_MAX_FRAME;
        let big: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
        a.send(b.terminal(), Channel::Replication, big.clone())
            .unwrap();
        assert_eq!(
            a.send(b.terminal(), Channel::Replication, vec![0; max + 1]),
            Err(SendError::TooLarge { len: max + 1, max })
        );

        for (rx, from, expect_big) in [(&b, a.terminal(), true), (&a, b.terminal(), false)] {
            let mut next = [0u32; 3];
            let mut got_big = false;
            let deadline = Instant::now() + Duration::from_secs(20);
            while next.iter().any(|n| *n < N) || (expect_big && !got_big) {
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(!left.is_zero(), "timed out: next={next:?} big={got_big}");
                let ev = smol::future::or(async { Some(rx.next_event().await) }, async {
                    smol::Timer::after(left).await;
                    None
                })
                .await
                .expect("event");
                let TransportEvent::Message(Incoming {
                    from: f,
                    channel,
                    payload,
                }) = ev
                else {
                    panic!("unexpected {ev:?}");
                };
                assert_eq!(f, from);
                if payload.len() == max {
                    assert_eq!(payload, big);
                    assert_eq!(channel, Channel::Replication);
                    assert_eq!(
                        next[1], N,
                        "the big frame was queued after all replication frames"
                    );
                    got_big = true;
                    continue;
                }
                assert_eq!(payload[0], channel.tag());
                let i = u32::from_be_bytes(payload[1..5].try_into().unwrap());
                let idx = (channel.tag() - 1) as usize;
                assert_eq!(i, next[idx], "out of order on {channel:?}");
                next[idx] += 1;
            }
        }
        let pa = a.peers();
        assert_eq!(pa.len(), 1);
        assert!(pa[0].connected);
        assert_eq!(pa[0].sent, u64::from(3 * N + 1));
        assert_eq!(pa[0].received, u64::from(3 * N));
        a.close().await;
        b.close().await;
        assert_eq!(
            a.send(b.terminal(), Channel::Raft, vec![1]),
            Err(SendError::Closed)
        );
    });
}

#[test]
fn certificate_from_another_ca_is_refused() {
    smol::block_on(async {
        let ca = StoreCa::generate(&store("alpha")).unwrap();
        let rogue_ca = StoreCa::generate(&store("alpha")).unwrap();
        let a = start(&ca, 1).await;

        // 1. A dials a terminal whose certificate is from another CA: A's own check refuses.
        let f = start(&rogue_ca, 2).await;
        a.set_peer_addr(TerminalId(2), f.local_addr());
        let e = expect(&a, Duration::from_secs(5), "Refused", |e| {
            matches!(e, TransportEvent::Refused(..))
        })
        .await;
        let TransportEvent::Refused(addr, reason) = e else {
            unreachable!()
        };
        assert_eq!(addr, f.local_addr());
        assert!(reason.contains("not from this store's CA"), "{reason}");
        a.forget_peer(TerminalId(2));
        f.close().await;

        // 2. A rogue terminal that trusts A's CA (so its side of the handshake passes) dials
        //    A: A's server side refuses its client certificate.
        let rogue_id = rogue_ca.issue_terminal(TerminalId(3)).unwrap();
        let both_cas = format!("{}{}", rogue_ca.cert_pem(), ca.cert_pem());
        let g = Transport::bind(config(&both_cas, rogue_id, "alpha", 3, any_port()))
            .await
            .unwrap();
        g.set_peer_addr(TerminalId(1), a.local_addr());
        let e = expect(&a, Duration::from_secs(5), "Refused", |e| {
            matches!(e, TransportEvent::Refused(..))
        })
        .await;
        let TransportEvent::Refused(_, reason) = e else {
            unreachable!()
        };
        assert!(reason.contains("not from this store's CA"), "{reason}");
        let e = expect(&g, Duration::from_secs(5), "Refused", |e| {
            matches!(e, TransportEvent::Refused(..))
        })
        .await;
        println!("rogue side saw: {e:?}");
        // No PeerUp on A, ever.
        quiet(&a, Duration::from_millis(500), |e| {
            matches!(e, TransportEvent::PeerUp(..))
        })
        .await;
        assert!(a.peers().iter().all(|p| !p.connected));
        g.close().await;
        a.close().await;
    });
}

#[test]
fn same_ca_other_store_is_refused_after_handshake() {
    smol::block_on(async {
        let ca = StoreCa::generate(&store("alpha")).unwrap();
        let a = start(&ca, 1).await;
        let beta_id = ca.issue_terminal_in(&store("beta"), TerminalId(2)).unwrap();
        let b = Transport::bind(config(&ca.cert_pem(), beta_id, "beta", 2, any_port()))
            .await
            .unwrap();

        // B dials A: A refuses after the handshake.
        b.set_peer_addr(TerminalId(1), a.local_addr());
        let e = expect(&a, Duration::from_secs(5), "Refused", |e| {
            matches!(e, TransportEvent::Refused(..))
        })
        .await;
        let TransportEvent::Refused(_, reason) = e else {
            unreachable!()
        };
        assert!(
            reason.contains("store mismatch") && reason.contains("beta"),
            "{reason}"
        );
        // A dials B: refused by A's own post-handshake check too.
        b.forget_peer(TerminalId(1));
        a.set_peer_addr(TerminalId(2), b.local_addr());
        let e = expect(
            &a,
            Duration::from_secs(5),
            "Refused",
            |e| matches!(e, TransportEvent::Refused(addr, _) if *addr == b.local_addr()),
        )
        .await;
        let TransportEvent::Refused(_, reason) = e else {
            unreachable!()
        };
        assert!(reason.contains("store mismatch"), "{reason}");
        quiet(&a, Duration::from_millis(300), |e| {
            matches!(e, TransportEvent::PeerUp(..))
        })
        .await;
        a.close().await;
        b.close().await;
    });
}

/// A raw quinn client with a valid certificate for `terminal`, connected to `to`.
async fn raw_client(
    ca: &StoreCa,
    terminal: u32,
    to: SocketAddr,
) -> (quinn::Endpoint, quinn::Connection) {
    let id = ca.issue_terminal(TerminalId(terminal)).unwrap();
    let tls = tls::client_config(&ca.cert_pem(), &id, ca.store()).unwrap();
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let socket = std::net::UdpSocket::bind(any_port()).unwrap();
    let ep = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket,
        Arc::new(quinn::SmolRuntime),
    )
    .unwrap();
    let conn = ep
        .connect_with(
            quinn::ClientConfig::new(Arc::new(crypto)),
            to,
            "t1.demo.keel",
        )
        .unwrap()
        .await
        .unwrap();
    (ep, conn)
}

#[test]
fn garbage_and_oversized_frames_close_only_that_connection() {
    smol::block_on(async {
        let ca = StoreCa::generate(&store("demo")).unwrap();
        let victim = start(&ca, 1).await;
        let friend = start(&ca, 2).await;
        connect_pair(&victim, &friend).await;

        let cases: [(u32, Vec<u8>, &str); 4] = [
            (9, vec![0x7f, 0, 0, 0, 1, 0], "unknown channel tag 0x7f"),
            (
                10,
                vec![1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3],
                "exceeds the limit",
            ),
            (
                11,
                [vec![2, 0, 0, 0, 100], vec![7; 10]].concat(),
                "truncated frame",
            ),
            (12, vec![3, 0, 0], "truncated frame header"),
        ];
        for (t, bytes, why) in cases {
            let (ep, conn) = raw_client(&ca, t, victim.local_addr()).await;
            expect(&victim, Duration::from_secs(5), "PeerUp", is_up(t)).await;
            let mut s = conn.open_uni().await.unwrap();
            s.write_all(&bytes).await.unwrap();
            s.finish().unwrap();
            let e = expect(
                &victim,
                Duration::from_secs(5),
                "PeerDown",
                |e| matches!(e, TransportEvent::PeerDown(p, _) if p.0 == t),
            )
            .await;
            let TransportEvent::PeerDown(_, reason) = e else {
                unreachable!()
            };
            assert!(reason.contains(why), "{t}: {reason}");
            // The offender learns why.
            let closed = conn.closed().await;
            assert!(
                closed.to_string().contains(why) || format!("{closed:?}").contains(why),
                "{closed}"
            );
            // Forget it so the victim stops redialing the raw client.
            victim.forget_peer(TerminalId(t));
            ep.close(0u32.into(), b"");
            // The victim still works with its friend, both ways.
            ping(&victim, &friend, &format!("after {t}")).await;
        }
        // And a well-behaved raw client's frames arrive.
        let (ep, conn) = raw_client(&ca, 13, victim.local_addr()).await;
        let mut s = conn.open_uni().await.unwrap();
        s.write_all(&[1, 0, 0, 0, 3, b'a', b'b', b'c'])
            .await
            .unwrap();
        s.finish().unwrap();
        expect(&victim, Duration::from_secs(5), "message from 13", |e| {
            matches!(e, TransportEvent::Message(m) if m.from.0 == 13 && m.payload == b"abc" && m.channel == Channel::Raft)
        })
        .await;
        victim.forget_peer(TerminalId(13));
        ep.close(0u32.into(), b"");
        victim.close().await;
        friend.close().await;
    });
}

#[test]
fn restarted_peer_is_reconnected_by_itself() {
    smol::block_on(async {
        let ca = StoreCa::generate(&store("demo")).unwrap();
        let a = start(&ca, 1).await;
        let b_id = ca.issue_terminal(TerminalId(2)).unwrap();
        let b = Transport::bind(config(&ca.cert_pem(), b_id.clone(), "demo", 2, any_port()))
            .await
            .unwrap();
        let b_addr = b.local_addr();
        connect_pair(&a, &b).await;
        ping(&a, &b, "before").await;

        b.close().await;
        drop(b);
        let e = expect(&a, Duration::from_secs(6), "PeerDown", |e| {
            matches!(e, TransportEvent::PeerDown(..))
        })
        .await;
        println!("A saw: {e:?}");
        // Messages sent while B is away wait in A's queue.
        a.send(
            TerminalId(2),
            Channel::Replication,
            b"queued while away".to_vec(),
        )
        .unwrap();
        smol::Timer::after(Duration::from_millis(700)).await;

        // B comes back on the same port, knowing nothing about A.
        let started = Instant::now();
        let b = loop {
            match Transport::bind(config(&ca.cert_pem(), b_id.clone(), "demo", 2, b_addr)).await {
                Ok(b) => break b,
                Err(e) if started.elapsed() < Duration::from_secs(3) => {
                    println!("rebind: {e}");
                    smol::Timer::after(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("rebind {b_addr}: {e}"),
            }
        };
        expect(&a, Duration::from_secs(10), "PeerUp again", is_up(2)).await;
        println!("reconnected {:?} after restart", started.elapsed());
        expect(
            &b,
            Duration::from_secs(5),
            "queued message",
            |e| matches!(e, TransportEvent::Message(m) if m.payload == b"queued while away"),
        )
        .await;
        ping(&a, &b, "after").await;
        a.close().await;
        b.close().await;
    });
}

#[test]
fn simultaneous_dial_leaves_one_connection() {
    smol::block_on(async {
        for round in 0..5 {
            let ca = StoreCa::generate(&store("demo")).unwrap();
            let mk = |t: u32| {
                let mut cfg = config(
                    &ca.cert_pem(),
                    ca.issue_terminal(TerminalId(t)).unwrap(),
                    "demo",
                    t,
                    any_port(),
                );
                cfg.timing.yield_to_lower = Duration::ZERO; // both dial at once
                cfg
            };
            let a = Transport::bind(mk(1)).await.unwrap();
            let b = Transport::bind(mk(2)).await.unwrap();
            a.set_peer_addr(TerminalId(2), b.local_addr());
            b.set_peer_addr(TerminalId(1), a.local_addr());
            expect(&a, Duration::from_secs(5), "PeerUp", is_up(2)).await;
            expect(&b, Duration::from_secs(5), "PeerUp", is_up(1)).await;
            settle(&[&a, &b]).await;
            // The survivor is the connection dialed by the lower id (1).
            assert_eq!(a.peers()[0].outbound, Some(true), "round {round}");
            assert_eq!(b.peers()[0].outbound, Some(false), "round {round}");
            // No flapping: no PeerDown/PeerUp while it settled.
            ping(&a, &b, "one").await;
            let extra = quiet(&a, Duration::from_millis(200), |e| {
                matches!(e, TransportEvent::PeerDown(..) | TransportEvent::PeerUp(..))
            })
            .await;
            assert!(extra.is_empty(), "{extra:?}");
            assert_eq!((a.open_connections(), b.open_connections()), (1, 1));
            a.close().await;
            b.close().await;
        }
    });
}
