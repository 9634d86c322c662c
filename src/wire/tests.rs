//! Round trips and hostile input for the codec.

use super::*;

fn samples() -> Vec<Frame<'static>> {
    let bodies = vec![
        Body::RequestVote(RequestVote {
            prevote: true,
            term: 7,
            candidate_id: 3,
            last_log_idx: 1 << 40,
            last_log_term: 6,
        }),
        Body::RequestVoteResponse(RequestVoteResponse {
            prevote: false,
            request_term: 7,
            term: 8,
            vote_granted: true,
        }),
        Body::AppendEntries(AppendEntries {
            leader_id: 1,
            msg_id: u64::MAX,
            term: 5,
            prev_log_idx: 10,
            prev_log_term: 4,
            leader_commit: 9,
            entries: vec![
                Entry { term: 5, id: -2, entry_type: 0, data: b"SET a 1" },
                Entry { term: 5, id: 77, entry_type: 2, data: b"" },
                Entry { term: 5, id: 78, entry_type: 104, data: &[0, 255, 1] },
            ],
        }),
        Body::AppendEntries(AppendEntries { leader_id: 2, term: 1, ..Default::default() }),
        Body::AppendEntriesResponse(AppendEntriesResponse {
            msg_id: 99,
            term: 5,
            success: true,
            current_idx: 13,
        }),
        Body::Snapshot(Snapshot {
            term: 5,
            leader_id: 1,
            msg_id: 4,
            snapshot_index: 100,
            snapshot_term: 4,
            offset: 4096,
            last_chunk: true,
            data: b"chunk bytes",
        }),
        Body::SnapshotResponse(SnapshotResponse {
            msg_id: 4,
            term: 5,
            offset: 4107,
            success: true,
            last_chunk: true,
        }),
        Body::TimeoutNow,
    ];
    bodies.into_iter().enumerate().map(|(i, body)| Frame { from: i as i32, to: -1, body }).collect()
}

fn enc(f: &Frame<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; f.encoded_len()];
    assert_eq!(encode(f, &mut buf), Ok(buf.len()));
    buf
}

#[test]
fn every_message_type_survives_a_round_trip() {
    for f in samples() {
        let bytes = enc(&f);
        let (back, used) = decode(&bytes, MAX_FRAME).expect("decodes");
        assert_eq!(used, bytes.len());
        assert_eq!(back, f);
    }
}

#[test]
fn frames_back_to_back_decode_one_at_a_time() {
    let frames = samples();
    let stream: Vec<u8> = frames.iter().flat_map(enc).collect();
    let mut pos = 0;
    for f in &frames {
        let (back, used) = decode(&stream[pos..], MAX_FRAME).unwrap();
        assert_eq!(&back, f);
        pos += used;
    }
    assert_eq!(pos, stream.len());
}

#[test]
fn every_truncation_is_reported_as_truncated_with_the_size_needed() {
    for f in samples() {
        let bytes = enc(&f);
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut], MAX_FRAME) {
                Err(WireError::Truncated { need }) => {
                    let want = if cut < HEADER_LEN { HEADER_LEN } else { bytes.len() };
                    assert!(need == want || (cut >= 4 && need == HEADER_LEN), "cut {cut}: need {need}");
                    assert!(need > cut);
                }
                other => panic!("cut {cut} of {:?}: {other:?}", f.body.msg_type()),
            }
        }
    }
}

#[test]
fn a_short_output_buffer_is_refused_without_writing() {
    for f in samples() {
        let need = f.encoded_len();
        let mut buf = vec![0xAAu8; need - 1];
        assert_eq!(encode(&f, &mut buf), Err(WireError::ShortBuffer { need }));
        assert!(buf.iter().all(|&b| b == 0xAA));
    }
}

#[test]
fn another_version_is_refused() {
    let mut bytes = enc(&samples()[0]);
    bytes[4] = 2;
    assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::Version(2)));
    bytes[4] = 0;
    assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::Version(0)));
}

#[test]
fn unknown_types_and_reserved_flags_are_malformed() {
    let mut bytes = enc(&samples()[0]);
    bytes[5] = 0;
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    bytes[5] = 8;
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    let mut bytes = enc(&samples()[0]);
    bytes[7] = 1;
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
}

#[test]
fn a_length_below_the_header_is_malformed_and_one_above_the_limit_too_large() {
    let mut bytes = enc(&samples()[7]);
    bytes[..4].copy_from_slice(&11u32.to_be_bytes());
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    bytes[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::TooLarge(u32::MAX as usize + 4)));
    let big = enc(&samples()[2]);
    assert_eq!(decode(&big, 20), Err(WireError::TooLarge(big.len())));
}

#[test]
fn a_length_that_disagrees_with_the_body_is_malformed() {
    for f in samples() {
        let bytes = enc(&f);
        // One byte longer: trailing garbage inside the frame.
        let mut longer = bytes.clone();
        longer.push(0);
        let l = (longer.len() - 4) as u32;
        longer[..4].copy_from_slice(&l.to_be_bytes());
        assert!(matches!(decode(&longer, MAX_FRAME), Err(WireError::Malformed(_))), "{:?}", f.body.msg_type());
        // One byte shorter: the body's fields run past the frame.
        if bytes.len() > HEADER_LEN {
            let mut shorter = bytes.clone();
            shorter.pop();
            let l = (shorter.len() - 4) as u32;
            shorter[..4].copy_from_slice(&l.to_be_bytes());
            assert!(matches!(decode(&shorter, MAX_FRAME), Err(WireError::Malformed(_))));
        }
    }
}

#[test]
fn an_entry_count_larger_than_the_frame_is_malformed_before_any_allocation() {
    let mut bytes = enc(&samples()[2]);
    // n_entries sits after the header and 44 bytes of fixed fields.
    bytes[HEADER_LEN + 44..HEADER_LEN + 48].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
}

#[test]
fn an_entry_data_length_past_the_end_is_malformed() {
    let mut bytes = enc(&samples()[2]);
    let first_len = HEADER_LEN + 48 + 14;
    bytes[first_len..first_len + 4].copy_from_slice(&1_000_000u32.to_be_bytes());
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
}

#[test]
fn flags_other_than_zero_or_one_and_negative_terms_are_malformed() {
    let mut bytes = enc(&samples()[0]);
    bytes[HEADER_LEN] = 2;
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    let mut bytes = enc(&samples()[0]);
    bytes[HEADER_LEN + 1] = 0x80;
    assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
}

#[test]
fn any_single_byte_change_decodes_or_fails_cleanly() {
    for f in samples() {
        let bytes = enc(&f);
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok((g, used)) = decode(&b, MAX_FRAME) {
                    // Whatever decodes re-encodes to the same bytes.
                    assert_eq!(enc(&g), b[..used].to_vec());
                }
            }
        }
    }
}
