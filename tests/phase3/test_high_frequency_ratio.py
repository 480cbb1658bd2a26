"""Task 3.2: high-frequency energy ratio, checked on cosines whose power is known by hand."""
import numpy as np
import pytest

from phase3_frequency_analysis import template_fft_analysis as fft
from tests.tolerances import FLOAT64_EXACT

pytestmark = pytest.mark.task("3.2")


def cosine_image(size, components, mean=100.0):
    """mean + sum of a * cos(2 pi (fy y + fx x)) for (a, fy, fx) in components, fy, fx in cycles per pixel."""
    y, x = np.mgrid[0:size, 0:size]
    image = np.full((size, size), mean)
    for amplitude, fy, fx in components:
        image += amplitude * np.cos(2 * np.pi * (fy * y + fx * x))
    return image


def test_frequency_radius_of_a_4x4_worked_by_hand():
    radius = fft.frequency_radius(4, 4)
    assert radius.shape == (4, 4)
    axis = np.array([-0.5, -0.25, 0.0, 0.25])  # fftshift(fftfreq(4)), written out
    expected = np.array([[np.hypot(fy, fx) for fx in axis] for fy in axis])
    np.testing.assert_allclose(radius, expected, **FLOAT64_EXACT,
                               err_msg="radius in cycles per pixel, DC at (H//2, W//2)")


def test_frequency_radius_of_a_rectangle_uses_each_axis_length():
    radius = fft.frequency_radius(3, 8)
    # rows: fftshift(fftfreq(3)) = [-1/3, 0, 1/3]; columns: k / 8 for k = -4 .. 3
    for row, fy in enumerate([-1 / 3, 0.0, 1 / 3]):
        for col, fx in enumerate(np.arange(-4, 4) / 8):
            assert radius[row, col] == pytest.approx(np.hypot(fy, fx), abs=1e-12), (row, col)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.0, 3.0), (5.0, 0.5)])
def test_two_cosines_split_their_power_as_a_squared_and_b_squared(a, b):
    image = cosine_image(16, [(a, 0.0, 0.125), (b, 0.0, 0.375)])
    assert fft.high_frequency_ratio(image, cutoff=0.25) == pytest.approx(b**2 / (a**2 + b**2), abs=1e-12), \
        "power is |F|^2: a cosine of amplitude a carries a^2 / 2 per pixel"


def test_the_mean_brightness_is_not_counted():
    dim = cosine_image(16, [(2.0, 0.125, 0.0), (1.0, 0.375, 0.0)], mean=10.0)
    bright = cosine_image(16, [(2.0, 0.125, 0.0), (1.0, 0.375, 0.0)], mean=200.0)
    assert fft.high_frequency_ratio(dim) == pytest.approx(0.2, abs=1e-12)
    assert fft.high_frequency_ratio(bright) == pytest.approx(0.2, abs=1e-12), "leave DC (radius 0) out of the total"


def test_the_radius_is_euclidean_in_cycles_per_pixel():
    # (fy, fx) = (0.1875, 0.1875): each axis below 0.25, but the radius is 0.265 > 0.25
    diagonal = cosine_image(16, [(1.0, 0.1875, 0.1875)])
    assert fft.high_frequency_ratio(diagonal, cutoff=0.25) == pytest.approx(1.0, abs=1e-12)
    assert fft.high_frequency_ratio(diagonal, cutoff=0.27) == pytest.approx(0.0, abs=1e-12)
    # the same cycles per pixel on a larger image: the ratio does not depend on the size
    bigger = cosine_image(32, [(2.0, 0.0, 0.125), (1.0, 0.375, 0.0)])
    assert fft.high_frequency_ratio(bigger, cutoff=0.25) == pytest.approx(0.2, abs=1e-12)


def test_power_exactly_at_the_cutoff_is_not_beyond_it():
    image = cosine_image(16, [(1.0, 0.0, 0.25), (1.0, 0.0, 0.375)])
    assert fft.high_frequency_ratio(image, cutoff=0.25) == pytest.approx(0.5, abs=1e-12), \
        "strictly beyond: radius > cutoff"


def test_constant_image_has_no_high_frequency_power():
    assert fft.high_frequency_ratio(np.full((8, 8, 3), 77.0)) == 0.0


def test_colour_image_uses_its_luma_and_matches_a_loop_over_the_dft():
    image = np.random.default_rng(3).random((12, 10, 3)) * 255
    g = image @ np.array([0.299, 0.587, 0.114])
    total = high = 0.0
    for ky in range(12):
        for kx in range(10):
            value = sum(g[y, x] * np.exp(-2j * np.pi * (ky * y / 12 + kx * x / 10)) for y in range(12) for x in range(10))
            fy, fx = min(ky, 12 - ky) / 12, min(kx, 10 - kx) / 10
            radius = np.hypot(fy, fx)
            if radius > 0:
                total += abs(value) ** 2
            if radius > 0.27:
                high += abs(value) ** 2
    assert fft.high_frequency_ratio(image, cutoff=0.27) == pytest.approx(high / total, rel=1e-9)


def test_a_faint_texture_is_measured_like_a_strong_one():
    faint = cosine_image(16, [(0.002, 0.0, 0.125), (0.001, 0.0, 0.375)])
    assert fft.high_frequency_ratio(faint) == pytest.approx(0.2, rel=1e-9), \
        "only an image with no power at all besides DC returns 0"
