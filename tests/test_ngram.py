
import numpy as np
import pytest

from jazzgen.evaluation.ngram import KneserNey, Unigram, perplexity

TINY = [[0, 1, 0, 1], [0, 2]]  # V = 3; every sequence starts after BOS (-1)


def test_bigram_by_hand():
    m = KneserNey(2, 3, discount=0.5).fit(TINY)
    # Bigrams incl. BOS: (-1,0) x2, (0,1) x2, (1,0) x1, (0,2) x1.
    # Unigram continuation counts N1+(. w): w=0 after {-1,1} -> 2, w=1 after {0} -> 1,
    # w=2 after {0} -> 1; total 4, 3 types.
    # P1(1) = (1 - .5 + .5 * 3 * 1/3) / 4 = 0.25   (and P1(0) = 0.5, P1(2) = 0.25)
    # Empty context = BOS history: c(-1,0) = 2 -> total 2, 1 type:
    # P(1|BOS) = (0 + .5 * 1 * P1(1)) / 2 = 1/16
    assert m.prob((), 1) == pytest.approx(1 / 16)
    # Context 0: c(0,1) = 2, c(0,2) = 1 -> total 3, 2 types.
    # P(1|0) = (2 - .5 + .5 * 2 * P1(1)) / 3 = (1.5 + .25) / 3 = 7/12
    assert m.prob((0,), 1) == pytest.approx(7 / 12)
    # P(0|0) = (0 + .5 * 2 * P1(0)) / 3 = 0.5 / 3
    assert m.prob((0,), 0) == pytest.approx(1 / 6)


def test_trigram_by_hand():
    m = KneserNey(3, 3, discount=0.5).fit(TINY)
    # Trigrams: (-1,-1,0) x2, (-1,0,1), (0,1,0), (1,0,1), (-1,0,2).
    # Bigram continuation counts (distinct left extensions): (0,1) <- {-1,1}: 2,
    # (0,2): 1, (1,0): 1, (-1,0): 1.  Unigram ones as in the bigram test: P1(1) = 1/4.
    # P2(1|0) = (2 - .5 + .5 * 2 * 1/4) / 3 = 7/12
    # Context (-1,0): (-1,0,1) x1, (-1,0,2) x1 -> total 2, 2 types:
    # P(1|-1,0) = (1 - .5 + .5 * 2 * 7/12) / 2 = 13/24
    assert m.prob((0,), 1) == pytest.approx(13 / 24)  # short context is BOS-padded
    # Context (1,0): (1,0,1) x1: P = (1 - .5 + .5 * 1 * 7/12) / 1 = 19/24
    assert m.prob((1, 0), 1) == pytest.approx(19 / 24)
    assert m.prob((5, 1, 0), 1) == pytest.approx(19 / 24)  # only the last n-1 count


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("disc", [None, 0.75])
def test_distributions_sum_to_one_and_unseen_positive(n, disc):
    rng = np.random.default_rng(n)
    V = 7  # id 6 never occurs in training
    seqs = [rng.integers(0, 6, rng.integers(1, 40)) for _ in range(30)]
    m = KneserNey(n, V, discount=disc).fit(seqs)
    for ctx in [(), (0,), (1, 2), (3, 3, 3, 3), (6, 6, 6), (5, 4, 3, 2, 1, 0)]:
        p = m.dist(ctx)
        assert abs(p.sum() - 1.0) < 1e-9
        assert p[6] > 0 and (p > 0).all()
        assert p[2] == pytest.approx(m.prob(ctx, 2))
    lp = m.logprob_seq(seqs[0])
    assert lp.shape == seqs[0].shape and np.all(lp < 0)


def test_conditioned_sums_to_one_and_backs_off_history_first():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 5, 50) for _ in range(40)]
    conds = [s.copy() for s in seqs]  # the condition determines the token
    m = KneserNey(3, 5).fit(seqs, conds)
    for ctx, c in [((), 0), ((1, 2), 3), ((4, 4), 4), ((0, 1), 99), ((2,), -1)]:
        assert abs(m.dist(ctx, c).sum() - 1.0) < 1e-9
    # A history the model never saw with this cond still keeps the cond: p(3 | cond 3) high.
    never = KneserNey(3, 5).fit([[0, 0, 3]], [[0, 0, 3]])
    assert never.prob((4, 4), 3, cond=3) > never.prob((4, 4), 3, cond=0)
    with pytest.raises(ValueError):
        m.logprob_seq(seqs[0])  # fitted with conds, queried without


def test_condition_beats_no_condition():
    rng = np.random.default_rng(1)
    V = 6
    train_c = [rng.integers(0, 12, 200) for _ in range(20)]
    train = [c % V for c in train_c]
    test_c = rng.integers(0, 12, 500)
    test = test_c % V
    plain = KneserNey(3, V).fit(train)
    cond = KneserNey(3, V).fit(train, train_c)
    ppl_plain = perplexity(plain.logprob_seq(test))
    ppl_cond = perplexity(cond.logprob_seq(test, test_c))
    assert ppl_cond < 1.5 < 4.0 < ppl_plain


def test_unigram_add_one():
    u = Unigram(4).fit([[0, 0, 1], [0]])
    # counts 3,1,0,0; N = 4 -> (c + 1) / 8
    assert u.dist() == pytest.approx([4 / 8, 2 / 8, 1 / 8, 1 / 8])
    assert u.prob((1, 2), 3) == pytest.approx(1 / 8)
    assert u.logprob_seq([0, 3]) == pytest.approx(np.log([0.5, 0.125]))


def test_perplexity():
    assert perplexity(np.log([0.25, 0.25])) == pytest.approx(4.0)


def test_rejects_out_of_vocab():
    with pytest.raises(ValueError):
        KneserNey(2, 3).fit([[0, 3]])
