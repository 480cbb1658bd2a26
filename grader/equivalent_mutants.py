"""Mutants that no test can kill because they do not change behaviour (see :mod:`grader.mutants`).

Keyed by task, then by the mutant's stable id (``python -m grader.selfcheck --list-mutants`` prints
them); the value says why the mutant is equivalent. The self-check does not run a listed mutant,
and leaves it out of the kill rate (as mutation scores are counted); at most 10% of all mutants
may be listed, so a weak test is strengthened, not excused.
"""

INPLACE = "ReLU(inplace=True) and ReLU(inplace=False) compute the same values (only memory differs)"
ROTATION_DETERMINANT = ("U and Vt are orthogonal: their determinants are +1 or -1, never 0, so this "
                        "changes neither the sign test nor the signs")
FAIR_DRAW = ("rng.random() draws a float in [0, 1): it equals the probability with probability zero, so "
             "< and <= apply the step equally often")

EQUIVALENT: dict[str, dict[str, str]] = {
    "1.1": {
        "crop_face:compare Gt->GtE#0": "side == size already returned the unresized copy two lines earlier, "
                                       "so > and >= pick the same interpolation",
    },
    "1.2": {
        "similarity_transform:binop Sub->Add#1": "the cross-covariance multiplies by the centred source, whose "
                                                 "columns sum to zero, so adding or subtracting dst's mean to "
                                                 "dst changes nothing",
        "similarity_transform:compare GtE->Gt#0": ROTATION_DETERMINANT,
        "similarity_transform:binop Mult->Div#0": ROTATION_DETERMINANT,
        "similarity_transform:binop Mult->Div#1": "signs are +1 or -1: dividing by them is multiplying by them",
    },
    "1.4": {
        "XceptionNet.__init__:const False->True#2": "the stem ends with a ReLU, so a ReLU at the start of the "
                                                    "first entry block acts on non-negative values: the identity",
    },
    "1.6": {
        "strip_classifier:const 5->6#0": "VGG16's classifier[5] is a Dropout, the identity in the frozen "
                                         "extractor's eval mode: the same fc7 features",
        "preprocess_images:unary drop-USub#0": "the tensor is 4-D (1, 3, H, W): shape[2:] and shape[-2:] are "
                                               "the same (H, W)",
        "preprocess_images:const 2->3#1": "shape[-3:] never equals (size, size), so every image is resized; an "
                                          "image already size x size is resized to its own size, which "
                                          "bilinear interpolation without corner alignment leaves unchanged",
    },
    "1.7": {
        "meso_block:const True->False#0": INPLACE,
        "conv_pool_blocks:const True->False#0": INPLACE,
        "BaselineCNN.__init__:const True->False#0": INPLACE,
        "MesoNet4.__init__:swap nn.Sequential#1": "dropout zeroes elements independently and flattening only "
                                                  "reshapes: Dropout then Flatten draws the same mask over the "
                                                  "same contiguous elements as Flatten then Dropout",
    },
    "1.12": {
        "PatchClassifier.__init__:const True->False#0": INPLACE,
    },
    "1.9": {
        "adjust_brightness_contrast:swap np.clip#0": "np.clip(0, x, 255) = min(max(0, x), 255) = np.clip(x, 0, "
                                                     "255) element by element",
        "random_forensic_augmentation:compare Lt->LtE#0": FAIR_DRAW,
        "random_forensic_augmentation:compare Lt->LtE#1": FAIR_DRAW,
        "random_forensic_augmentation:compare Lt->LtE#2": FAIR_DRAW,
        "random_forensic_augmentation:compare Lt->LtE#3": FAIR_DRAW,
        "random_forensic_augmentation:compare Lt->LtE#4": FAIR_DRAW,
    },
    "1.10": {
        "blending_mask:compare Gt->GtE#0": "with elastic_alpha == 0 the provided elastic_deform returns the mask "
                                           "unchanged before it reads rng, so calling it or not is the same",
    },
    "1.11": {
        "jitter_colour:const 360.0->720.0#0": "OpenCV's float HSV->RGB takes any non-negative H modulo 360 itself "
                                              "(the same colour to 4e-7), and np.mod(h, 720) is non-negative with "
                                              "the same remainder mod 360",
        "jitter_colour:swap np.clip#0": "np.clip(0, x, 1) = min(max(0, x), 1) = np.clip(x, 0, 1) element by element",
        "change_frequency:swap np.clip#0": "np.clip(0, x, 1) = min(max(0, x), 1) = np.clip(x, 0, 1) element by element",
        "change_frequency:compare Gt->GtE#0": "factor == 1 resizes to the same size with INTER_AREA and back with "
                                              "INTER_LINEAR, both exact copies at scale 1 (tested: the default returns "
                                              "the input exactly either way)",
        "change_frequency:compare Gt->GtE#1": "sharpen == 0 adds 0 * (x - blur) = 0 and clips values already in "
                                              "[0, 1] (the documented input range) to themselves",
    },
    "2.1": {
        "frame_difference_energy:const 1->2#0": "reshape(n, -2): NumPy reads any negative size as 'the rest', "
                                                "like -1",
    },
    "2.3": {
        "landmark_jitter:binop MatMult-swapped#1": "det(U Vt) = det(U) det(Vt) = det(Vt U): only the sign of "
                                                   "the determinant is used",
        "landmark_jitter:const 0.0->1.0#0": "the scale only multiplies the centred source, which is all zeros "
                                            "when its spread is 0: any scale gives the same residual",
    },
    "3.13": {
        "checkerboard_amplitude:binop MatMult-swapped#2": "(sy @ gray) and sx are both 1-D: their product is a "
                                                          "dot product, the same in either order",
    },
    "4.4": {
        "detrend:binop Mult->Div#0": "np.ones holds ones: -2 / 1 is -2 * 1",
    },
    "4.6": {
        "pos_window:const 0.0->1.0#0": "the ratio only multiplies S2, and where the guard applies S2 is "
                                       "constant: h = S1 + ratio * S2 differs by a constant, which the mean "
                                       "removal takes out (any finite ratio gives the same pulse; 0/0 gave NaN)",
        "pos_window:binop Sub->Add#0": "Cn divides each channel by its window mean, so S1 and S2 and with them h "
                                       "have mean 0 already: adding or subtracting it changes h by rounding only",
    },
    "4.8": {
        "head_pose:const 4->5#0": "the distortion coefficients are all zero: four or five zeros are the same "
                                  "(no) distortion for cv2.solvePnP",
    },
    "5.1": {
        "scaled_dot_product_attention:swap key.transpose#0": "swapping the last two axes is symmetric: "
                                                             "transpose(-1, -2) is transpose(-2, -1)",
    },
    "5.15": {
        "fit_log_likelihood_ratio:compare LtE->Lt#0": "at a slope of exactly 0 the fitted intercept is the prior "
                                                      "log-odds (the unpenalised intercept of a constant model), so "
                                                      "the offset b - log(n_fake / n_real) is 0: (0, 0) either way",
        "fit_log_likelihood_ratio:return zero#0": "0 * (0.0) is 0.0: the mutant returns the same (0.0, 0.0)",
    },
    "5.17": {
        "person_offset:return zero#0": "0 * (0.0) is 0.0: the mutant returns the same (0.0, 0.0)",
    },
}
