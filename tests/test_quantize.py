"""Quantization as pure array functions: rounding and its error, spreading, monophony, gaps."""
import numpy as np

from jazzgen.music import quantize as Q
from jazzgen.music.notes import GRID
from jazzgen.music.quantize import quantize, unstack

TPQ = 480          # 40 ticks a grid step


def test_rounding_error_is_measured_in_beats():
    line = quantize(np.array([0, 490, 960]), np.array([470, 470, 470]), np.array([60, 62, 64]), np.full(3, 90), TPQ)
    assert line.on.tolist() == [0, 12, 24]
    assert np.allclose(line.onset_error, [0, 10 / TPQ, 0]) and line.onset_error.dtype == np.float32
    assert np.allclose(line.offset_error, [-10 / TPQ, 0, -10 / TPQ])     # 470 -> 480, 960 -> 960, 1430 -> 1440


def test_highest_note_wins_and_overlaps_are_cut():
    line = quantize(np.array([0, 0, 480]), np.array([960, 960, 480]), np.array([60, 67, 64]), np.full(3, 90), TPQ)
    assert line.pitch.tolist() == [67, 64] and line.polyphony_dropped == 1 and line.overlaps_trimmed == 1
    assert line.off.tolist() == [GRID, 2 * GRID]


def test_colliding_onsets_are_spread_around_where_they_were_played():
    on_t = np.array([0, 10, 20, 30])          # four notes finer than the grid: all round to step 0 or 1
    on = np.rint(on_t * GRID / TPQ).astype(np.int64)
    assert unstack(on, on_t).tolist() == [0, 1, 2, 3]
    line = quantize(on_t, np.full(4, 10), np.arange(60, 64), np.full(4, 90), TPQ)
    assert line.polyphony_dropped == 0 and (np.diff(line.on) > 0).all()
    assert (line.off <= np.append(line.on[1:], 99)).all()


def test_a_written_out_tremolo_is_thinned_not_spread_over_bars():
    """96 notes in one beat, two a tick-pair apart (a 64th-note tremolo in a score export):
    spread over free steps they reached 4 beats early and 4 late.  No note moves more than
    a beat (MAX_SPREAD); those that would are dropped, and counted."""
    on_t = np.repeat(np.arange(48) * 10, 2) + np.tile([0, 1], 48) + 4 * TPQ      # beats 4-5
    line = quantize(on_t, np.full(96, 5), np.tile([72, 76], 48), np.full(96, 90), TPQ)
    assert np.abs(line.onset_error).max() <= (Q.MAX_SPREAD + 0.5) / GRID     # + the rounding
    assert len(line.on) + line.polyphony_dropped == 96 and len(line.on) >= GRID
    assert (np.diff(line.on) > 0).all()


def test_notes_keep_their_performed_lengths():
    """Short silences are articulation: the reader keeps them (tokens.CLOSE_GAPS tells them from rests)."""
    line = quantize(np.array([0, 480, 1200]), np.array([400, 320, 240]), np.array([60, 62, 64]), np.full(3, 90), TPQ)
    assert line.on.tolist() == [0, 12, 30] and line.off.tolist() == [10, 20, 36]   # gap 2 and gap 10 both kept


def test_velocity_dropouts_are_filled_from_their_neighbours():
    vel = np.array([9, 100, 9, 9, 110, 90, 10, 80, 9], np.int64)
    filled, n = Q.fill_velocity_dropouts(vel)
    assert n == 5
    assert filled.tolist() == [95, 100, 103, 107, 110, 90, 85, 80, 95]     # the ends: the median, 95
    assert vel.tolist()[2] == 9            # the input is not changed


def test_a_part_soft_throughout_keeps_its_velocities():
    for vel in ([9, 9, 9], [30, 9, 35, 8, 20], [100, 101, 99]):
        filled, n = Q.fill_velocity_dropouts(np.array(vel))
        assert n == 0 and filled.tolist() == vel


def test_quantize_reports_the_dropouts_it_filled():
    line = Q.quantize(np.array([0, 480, 960]), np.array([400, 400, 400]), np.array([60, 62, 64]),
                      np.array([100, 9, 96]), 480)
    assert line.velocity.tolist() == [100, 98, 96] and line.velocity_dropouts == 1
