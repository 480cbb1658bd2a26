"""Every numerical tolerance the grader uses, in one place.

A test imports the constant it needs (``from tests.tolerances import ...``) instead of writing a
literal, so that loosening or tightening a check is one reviewed edit here. Each constant says what
it bounds and why that bound is right.
"""

# --- metrics ---------------------------------------------------------------------------------

# Our metrics against scikit-learn (or a hand count) computing the same float64 quantity: only
# rounding in a different summation order can differ.
METRIC_VS_SKLEARN_ATOL = 1e-12

# The person bootstrap against scipy.stats.bootstrap drawing the same resamples: the same AUCs
# and the same linear-interpolated quantiles, so float rounding only.
BOOTSTRAP_VS_SCIPY_ATOL = 1e-12

# EER of hand-worked score lists: the values are exact fractions (1/3, 0.25); float rounding only.
EER_HAND_ATOL = 1e-12

# EER against the brute-force min over thresholds of max(FPR, FNR): FPR and FNR move in steps of
# 1/n_real and 1/n_fake, so the interpolated crossing may differ from the brute-force value by at
# most one step of the coarser class. The tests use this factor times 1/min(n_real, n_fake).
EER_BRUTE_FORCE_STEPS = 1.0

# --- video I/O -------------------------------------------------------------------------------

# Mean absolute difference (0..255 levels) between frames written with write_video (H.264,
# crf 18, yuv420p) and read back, for the tests' gray block-and-gradient clips. Measured 0.33;
# a wrong colour order, an off-by-one frame or a broken resize gives tens of levels.
VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS = 2.0

# Largest difference of any single pixel after the round trip (block edges ring a little under
# H.264; measured 7 levels at crf 18).
VIDEO_ROUNDTRIP_MAX_ABS_LEVELS = 24

# Timestamps are exact fractions of the container time base; this only absorbs float rounding.
VIDEO_TIMESTAMP_ATOL_S = 1e-6
# A report writes times rounded to the microsecond, so the spacing of two of them is exact within 2 us.
REPORT_TIME_SPACING_ATOL_S = 2e-6

# Mean absolute difference (levels) between a frame shrunk by max_side (INTER_AREA) and the
# full-size frame shrunk by block averaging: area interpolation is a block average when the
# scale is an integer, so only compression noise remains.
VIDEO_RESIZE_MEAN_ABS_LEVELS = 2.0

# --- datasets --------------------------------------------------------------------------------

# group_split gives whole groups to splits, so with G groups of one video a split's share can miss
# its target fraction by at most one group per label stratum; on the 200-group test set that is
# 2/200 = 0.01. We allow 0.03 so a change of shuffle keeps passing while a broken fill does not.
GROUP_SPLIT_SHARE_ATOL = 0.03
# Fake share of each split vs. the whole set, on the same 200-group set (stratified filling keeps
# it within one group per stratum of the split's size; 30 videos for val/test -> ~0.04).
GROUP_SPLIT_STRATIFICATION_ATOL = 0.06
# balanced_sampler on 90 REAL / 10 FAKE labels, 20,000 draws: the FAKE share is binomial with
# p = 0.5, standard deviation sqrt(0.25 / 20000) = 0.0035; 0.02 is more than 5 standard deviations.
BALANCED_SAMPLER_SHARE_ATOL = 0.02
# Flat grey frames written with H.264 crf 0 (yuv420p) decode within a level or two of what was
# written (RGB <-> YUV rounding); 3/255 in [0, 1] units.
DECODED_GREY_LEVEL_ATOL = 3 / 255

# --- synthetic benchmark (mini-forensics) ----------------------------------------------------

# MTCNN (the real detector) must find a face in at least this share of sampled frames.
SYNTH_MIN_DETECTION_RATE = 0.9
# IoU between MTCNN's box and the truth box: the truth uses MTCNN's own box convention, so a
# matching detection overlaps well above the usual 0.5 detection criterion.
SYNTH_MIN_BOX_IOU = 0.5
# Human blink physiology (Stern et al. 1984; Soukupova & Cech 2016).
SYNTH_BLINK_RATE_PER_MIN = (10.0, 30.0)
SYNTH_BLINK_DURATION_S = (0.1, 0.4)
SYNTH_EAR_OPEN = (0.25, 0.35)          # EAR of an open eye
SYNTH_EAR_BLINK_MAX = 0.2              # Soukupova & Cech threshold: blink frames are below it
SYNTH_EAR_CLOSED_MAX = 0.15            # the most-closed frame of a blink
# Heart rate from the FFT of the mean green in the face box of a 10-s clip after H.264: zero-padded
# spectrum, so the error is leakage and compression, not the 6-bpm bin width.
SYNTH_PULSE_BPM_TOLERANCE = 3.0
# GAN-style upsampling: energy on the half-sampling-rate lines of the face spectrum vs the real face.
SYNTH_UPSAMPLING_ENERGY_RATIO = 4.0
# Temporal flicker: mean frame-to-frame difference in the face box vs the real clip.
SYNTH_FLICKER_DIFFERENCE_RATIO = 1.5
# Face swap: mean absolute change (gray levels) inside the mask's core.
SYNTH_SWAP_MIN_CHANGE = 8.0
# Face swap rendered at lower resolution (FWA): Immerkaer's noise estimate inside the swapped face
# vs the same place in the real clip (about 0.15 measured; 0.5-0.75 for a swap at full resolution).
SYNTH_SWAP_NOISE_RATIO_MAX = 0.3

# --- training loop ---------------------------------------------------------------------------

# Two well-separated Gaussian blobs (3 standard deviations apart) through a 2-layer MLP: the
# Bayes-optimal AUC is about 0.98; a loop that trains at all reaches it in a few epochs.
SEPARABLE_BLOBS_MIN_VAL_AUC = 0.95

# Scores of a model reloaded from its checkpoint vs. the model that wrote it: the weights are
# bitwise equal and the CPU runs the same kernels, so only float32 sigmoid rounding may differ.
RELOADED_SCORES_ATOL = 1e-7

# fit(balance="sampler") on 120 REAL / 30 FAKE samples for 20 epochs draws 3,000 training items;
# their FAKE share is binomial with p = 0.5, standard deviation 0.0091; 0.05 is 5.5 of them
# (without balancing the share would be 0.2).
TRAINING_SAMPLER_SHARE_ATOL = 0.05

# --- phase 1 ---------------------------------------------------------------------------------

# phase 1 part 1
# MTCNN's box for scikit-image's astronaut is (181.05, 62.16, 267.75, 172.05) with torch 2.14 on
# this CPU; other BLAS builds / GPUs move it by a fraction of a pixel. 6 px (~6% of the 87-110 px
# face) still fails a box that is shifted, or not mapped back, by a real mistake.
ASTRONAUT_BOX_ATOL_PX = 6.0
# The same photo upscaled 2x and detected on a half-size copy: the box is twice the 512 px one,
# within twice the tolerance above (resampling twice moves MTCNN's regression a little).
DOWNSCALED_DETECTION_BOX_ATOL_PX = 12.0
# Anti-aliased 10 px dots warped back by the fitted similarity: the centroid of a warped blob
# moves only by bilinear rounding (well under half a pixel); a wrong fit misses by many pixels.
ALIGNED_DOT_CENTROID_ATOL_PX = 0.75
# Exact correspondences (no noise), float64: the fit is exact up to SVD rounding.
SIMILARITY_EXACT_FIT_ATOL = 1e-9
# Same Umeyama least squares as scikit-image, different float64 operation order.
SIMILARITY_VS_SKIMAGE_ATOL = 1e-8
# MTCNN's landmarks on the aligned crop vs. the template, as a fraction of the crop side: MTCNN's
# landmark error on frontal faces is a few % of the face; 5% of 160 px = 8 px.
REDETECTED_LANDMARK_ATOL_FRACTION = 0.05
# A separable convolution vs. one full convolution with the factorised kernel (or SciPy, or timm's
# module with the same weights): float32, different summation order over at most 54 products.
SEPARABLE_CONV_VS_FULL_CONV = dict(rtol=1e-5, atol=1e-5)
# Our Xception vs. timm's legacy_xception with the same weights, float32, eval mode. The same ops
# in the same order agree bit for bit on this CPU; other kernels (GPU, another BLAS) may reorder
# sums over 36 convolutions. Logits here are of order 0.1-0.3, so atol 1e-5 is still 1e-4 relative,
# while a mis-mapped weight or a missing ReLU changes them by 1e-2 or more.
XCEPTION_VS_TIMM = dict(rtol=1e-4, atol=1e-5)
# Our EfficientNet-B4 features / logits vs. torchvision's network (or a Linear written by hand) with
# the same weights, float32, eval mode: summation order only.
EFFICIENTNET_VS_TORCHVISION = dict(rtol=1e-5, atol=1e-5)
# Preprocessing vs. torchvision's transforms (same float32 formula, resize by the same kernel):
# rounding of one division and one subtraction per pixel.
PREPROCESS_VS_TORCHVISION = dict(rtol=1e-5, atol=1e-5)
# Extracted features vs. the backbone's submodules run by hand on the same input: identical ops.
FEATURES_VS_MANUAL_FORWARD = dict(rtol=1e-5, atol=1e-5)
# The same image in a batch of 2 vs. alone: oneDNN may pick other convolution kernels for another
# batch size, so float32 sums are reordered through ~50 layers; features are O(1) (random weights).
FEATURES_BATCHED_VS_SINGLE = dict(rtol=1e-4, atol=1e-4)

# MTCNN's face probability for the astronaut photograph (measured 0.9999+); a crop that is not a
# face, or a wrong colour order, scores far lower.
ASTRONAUT_MIN_FACE_PROBABILITY = 0.99
# Mean absolute difference (levels) between the extractor's crop and the crop of the hand-computed
# square around the true box: the detected box is within ASTRONAUT_BOX_ATOL_PX of it, which moves
# the crop by a few pixels of a smooth face; a crop of the wrong place differs by tens of levels.
ASTRONAUT_CROP_MEAN_ABS_LEVELS = 8.0
# A float box's edge may fall inside the first / last pixel of the integer square that covers it.
CROP_COVERS_BOX_SLACK_PX = 1
# cv2.estimateAffinePartial2D (float32 input, LMEDS refinement) vs. the exact float64 fit.
SIMILARITY_VS_OPENCV_ATOL = 1e-3
# Largest in-plane tilt of the eye line after alignment, measured by a second MTCNN pass on the
# crop (its landmark error is a few pixels on a 160 px crop, about 2 degrees): the unaligned
# photo is tilted by 20 degrees.
ALIGNED_EYE_TILT_MAX_DEG = 5.0
# align_face vs. cv2.warpAffine of the same frame with scikit-image's Umeyama matrix: the two
# float64 matrices differ by ~1e-12, which can move a bilinear sample across one rounding step of
# OpenCV's 1/32-pixel grid: at most one grey level. A black (constant) border differs by 100+.
ALIGNED_WARP_VS_OPENCV_ATOL_LEVELS = 1
# Features of the reference EfficientNet-B4 after its BatchNorm statistics are calibrated on
# random images are of order 0.1-1; below this scale a relative comparison means nothing.
EFFICIENTNET_MIN_FEATURE_SCALE = 1e-3
# MesoNet-4 and the baseline CNN on 16 bright / 16 dark noisy images after 30 Adam steps: a working
# network reaches a loss near 0.01; one that cannot learn (e.g. a dead layer) stays near log 2 = 0.69.
# Task 1.12's patch classifier on 16 noisy images, half with a bright 4-px speck, after 60 Adam steps:
# the same bar (it is measured below 0.01).
SMALL_CNN_FIT_MAX_LOSS = 0.1
# BatchNorm in eval mode divides by sqrt(running_var + eps) with eps = 1e-5: a 1e-5 relative
# change of a float32 value of order one.
MESO_BLOCK_VS_HAND_ATOL = 1e-4

# phase 1 part 2
# OpenCV's bilinear warp quantises sub-pixel positions to 1/32 and rounds to uint8; a 90 degree
# rotation of an odd-sized image lands on whole pixels, so at most one grey level may differ.
ROTATION_90_ATOL_LEVELS = 1
# cv2.GaussianBlur on uint8 uses fixed-point kernel weights and rounds its output: within one
# grey level of SciPy's float64 Gaussian with the same taps and mirrored border (+0.5 rounding).
BLUR_VS_SCIPY_ATOL_LEVELS = 1.0
# Flip-only augmentation with flip_p = 0.5, 400 draws: binomial(400, 0.5) has mean 200 and
# standard deviation 10; [150, 250] is 5 standard deviations either side.
FLIP_COUNT_RANGE_OF_400 = (150, 250)
# The whole augmentation chain replayed with OpenCV / NumPy oracles from the same generator draws:
# the same operations give the same pixels; another valid float order of the colour formula may
# move a pixel by one level before the JPEG, which spreads it over its 8x8 block. Mean over pixels.
AUGMENTATION_CHAIN_VS_ORACLE_MEAN_ABS_LEVELS = 0.5
# Strengths read back from augmented test images over many draws: the contrast factor measured
# from two grey levels 112 apart is exact to 1/112 (rounding of each level), the brightness
# shift to half a level, the rotation angle of a 61-px bar by a principal-axis fit to ~0.5 degrees.
CONTRAST_FACTOR_READ_ATOL = 1 / 56
BRIGHTNESS_SHIFT_READ_ATOL = 1.0
ROTATION_ANGLE_READ_ATOL_DEG = 1.0
# (x / 255 - mean) / std in float32 vs. the same formula in float64: float32 rounding only.
NORMALISED_TENSOR_ATOL = 1e-5
# train.py on the 24-clip FaceSwap tiny benchmark (baseline CNN, 96 px, 8 frames, 10 epochs, batch 8,
# best epoch by validation loss, no augmentation), scored by evaluate.py on its own 16 training videos
# (128 frames). The best epoch is picked on 4 validation videos of 2 people, often epoch 1-3, so the
# frame AUC is far from 1: measured 0.818-0.996 over train.py --seed 0 to 13 (this fixture, each run
# scored by evaluate.py, 2026-12-04); a machine with other float rounding is another draw of the
# same spread. Labels joined to the wrong videos give about 0.5, inverted scores about 1 - AUC.
# (The earlier 12-clip GANUpsample fixture barely learnt: 0.67-1.0 over seeds 0-5, and failed CI
# at 0.797.)
PHASE1_TOOL_MIN_TRAIN_AUC = 0.75
# The full demo (slow test): one detector per phase on 240 clips (seed 0, four manipulations), each
# detector's video AUC on the held-out test fakes of its own manipulation against the 18 real test
# videos. Measured 2026-12-01: baseline on FaceSwap 1.000, temporal features on TemporalFlicker 0.956,
# spectral regression on GANUpsample 1.000 (the phase-1 baseline alone varied 0.870-0.960 over seeds):
# below 0.85 means a broken recipe.
DEMO_OWN_CUE_MIN_AUC = 0.85

# --- tools (detect_video, visualize_detection) ------------------------------------------------

# IoU between the face box in a detect_video report (MTCNN) and the synthetic clip's ground-truth
# box. MTCNN's box is tighter than the truth box of the rendered head (measured 0.6-0.8 on the test
# clips); a box in the wrong coordinates (not mapped back from a downscaled frame) scores below 0.2.
TOOLS_FACE_BOX_MIN_IOU = 0.4

# A face score in the report vs. the network applied by hand to the same crop: the crop pixels are
# identical (same decoded frame, same INTER_AREA resize), so only float32 rounding of the batched
# forward pass may differ; a wrong normalisation moves the score by more than 1e-2.
TOOLS_RESCORED_PROBABILITY_ATOL = 1e-5

# Our Grad-CAM (through pytorch-grad-cam) vs. Grad-CAM computed by hand with autograd on the same
# crops (both in [0, 1] after max-normalisation); float32 rounding and the library's resize only.
TOOLS_GRADCAM_ATOL = 1e-3

# --- grader tasks (phases 2-5 first tasks) ---------------------------------------------------

# float64 reference computations done two ways (vectorised vs loops): only rounding differs.
FLOAT64_EXACT = dict(rtol=1e-10, atol=1e-12)
# float32 torch against torch's own fused kernel (different summation order).
FLOAT32_KERNEL = dict(rtol=1e-5, atol=1e-6)

# The detector interface (common/detectors.py, common/face_track.py) must not change a phase-1
# score: the video scores of the tool tests' fixed clips and tiny checkpoint, as the phase-1-only
# detect_video.py (commit f1271b4) wrote them, are reproduced to this absolute difference.
DETECTOR_INTERFACE_SCORE_ATOL = 1e-6

# Issue 19: a brief spurious face (a mirrored head pasted at the frame's edge in 2 of 8 sampled
# frames) may move a real clip's video score by less than this (the track policy leaves it out).
SPURIOUS_FACE_MAX_SCORE_CHANGE = 0.05

# Platt scaling fitted on 20,000 draws of a logistic model with slope 2 and intercept -1 recovers
# both within this absolute error (the L2 penalty C = 1 is negligible at that size).
PLATT_RECOVERY_ATOL = 0.1

# --- phase 3 (frequency analysis, tasks 3.2-3.7) ----------------------------------------------

# Durall profiles (81 bins, divided by bin 0) of the same stationary texture at two crop sizes
# (48-256 px, sizes a factor 2 or 4 apart): mean absolute difference measured 0.005-0.018, from
# the fewer pixels per ring of the smaller crop and the log of |F| growing as S while DC grows as
# S^2. The same texture resized 256 -> 128 before the profile differs by 0.06 (its peak moves).
DURALL_PROFILE_SIZE_AGREEMENT_MEAN_ABS = 0.03
# Block DCT in float64 vs. OpenCV's cv2.dct on float32 blocks of 0..255 levels: float32 rounding of
# sums of 64 products of magnitude up to ~1000.
BLOCK_DCT_VS_OPENCV_ATOL = 1e-3
# Frank et al.'s test of their DCT against numpy (float64, different summation order).
FRANK_DCT_ATOL = 1e-6
# Double JPEG (quality 50 then 90) of scikit-image's astronaut face: share of the (1, 0)
# coefficient's histogram (in steps of the second table's 2) that falls on multiples of the first
# step ratio 12 / 2 = 6. Measured 0.975 (pixel rounding moves a few); single compression at 90:
# 0.17 (a smooth histogram puts about 1/6 of it there).
DOUBLE_JPEG_MIN_SHARE_ON_COMB = 0.9
SINGLE_JPEG_MAX_SHARE_ON_COMB = 0.45
# double_compression_score of the same two histograms: measured 1.29 (double) and 0.13 (single).
DOUBLE_JPEG_MIN_SCORE = 0.8
SINGLE_JPEG_MAX_SCORE = 0.4
# Validation AUC of both scikit-learn classifiers on Durall profiles of 2x-upsampled vs. native
# textures (the brief's bar; measured values in the test's docstring).
SPECTRAL_CLASSIFIER_MIN_AUC = 0.95

# --- phase 2 (temporal analysis, tasks 2.2-2.9) -------------------------------------------------

# Flicker energy against scipy.signal.periodogram (the same float64 sums in another order).
SPECTRUM_VS_SCIPY = dict(rtol=1e-9, atol=1e-14)
# Landmark jitter (SVD similarity fit) against scipy.spatial.procrustes (another SVD on
# standardised points, scaled back to pixels): float64 rounding of a few hundred operations.
PROCRUSTES_VS_SCIPY = dict(rtol=1e-7, atol=1e-9)

# --- phase 5 (advanced methods, tasks 5.2-5.11) -----------------------------------------------

# Dynamic routing in float32 torch against a float64 numpy loop (Procedure 1): two to four
# softmax/squash rounds of unit-variance predictions; float32 rounding of 10-term sums.
ROUTING_VS_NUMPY = dict(rtol=1e-4, atol=1e-5)
# Optical flow of a smooth texture moved by a known sub-pixel affine motion (bicubic warp), in
# pixels: the bound. Our Lucas-Kanade and OpenCV's are both ~0.04 px from the truth on the
# tests' textures (bicubic resampling and gradient approximation); Farneback's median error on
# uint8 frames is 0.05 (translations) to 0.08 (a 2-degree rotation).
FLOW_VS_TRUTH_PX = 0.1
# Our Lucas-Kanade against cv2.calcOpticalFlowPyrLK on the same frames and window (they differ in
# gradient filters - central differences against Scharr - and OpenCV's fixed-point arithmetic on
# uint8): measured <= 0.01 px.
FLOW_VS_OPENCV_PX = 0.05
# Capsule-Forensics logits (float32 network, 256-channel VGG features, 10 capsules) against the
# numpy routing of the same primary capsules in float64.
CAPSULE_LOGIT_VS_NUMPY = dict(rtol=1e-4, atol=1e-4)
# Std of 200 x 80 draws of N(0, 0.01^2) routing-weight noise: the sample std is within 2% with
# overwhelming probability (relative sd of a sample std over 16,000 draws is 0.56%).
ROUTING_NOISE_STD_RTOL = 0.05

# --- phase 4 (biological signals, tasks 4.2-4.9; common/landmarks.py) -------------------------

# POS, CHROM, detrending and the region means are a few float64 operations on small numbers.
PULSE_EXACT = dict(rtol=1e-9, atol=1e-9)
# Smoothness-priors detrending of a straight line of 200 samples (values up to ~100): the sparse
# solve of (I + 100^2 D2'D2) leaves rounding of about 1e-8 (measured 2e-10).
DETREND_LINE_ATOL = 1e-6
# The rPPG methods must recover a 1% blood-volume pulse under a 5% lighting change: the brief's
# bar for a pulse "clearly present" (measured correlations: POS 0.999, CHROM 0.99, GREEN 0.2).
RPPG_MIN_CORRELATION = 0.95
GREEN_MAX_CORRELATION = 0.6
# Heart rate of a PPG-like wave (10 s at 25 fps) under Gaussian noise of half its amplitude: the
# issue's bar; measured worst error 0.42 bpm over seven rates in 52-131 bpm.
HEART_RATE_ATOL_BPM = 1.0
# heartpy's peak-to-peak rate and our spectral peak on the same clean 10-s PPG wave, 50-115 bpm:
# measured differences up to 0.8 bpm (heartpy counts whole beats; at 131 bpm it drifts by 4 bpm).
HEARTPY_AGREEMENT_BPM = 1.0
# SNR of two in-band tones (amplitudes 1 and 0.5): analytic 6.02 dB; the band-pass's gain a little
# off 1 and the Hann leakage outside the +-0.2 Hz bands move it by ~0.3 dB.
SNR_TWO_TONE_ATOL_DB = 0.5
# solvePnP (SQPNP) on exactly projected points: the rotation comes back to rounding (measured ~1e-12).
HEAD_POSE_ROTATION_ATOL = 1e-6
HEAD_POSE_TRANSLATION_ATOL_MM = 1e-3
# Angles of relative rotations against scipy's Rotation.magnitude (arccos near 0 loses ~1e-6 deg).
ROTATION_ANGLE_ATOL_DEG = 1e-4
# Our R3D-18 against torchvision's r3d_18 with the same weights: the same float32 convolutions in
# the same order; only the summation order of a backend kernel may differ.
R3D_PARITY = dict(rtol=1e-4, atol=1e-5)
# Multi-head self-attention against torch.nn.MultiheadAttention with the same weights: float32,
# torch fuses the three input projections into one matrix product (different summation order).
SELF_ATTENTION_VS_TORCH = dict(rtol=1e-5, atol=1e-5)

# --- phase 3 (Fourier attention and the DCT CNN, tasks 3.8-3.12) ---------------------------------

# float32 torch.fft / matmul against numpy / scipy in float64 on maps of unit-variance noise (or
# magnitudes up to ~20): float32 rounding of sums of at most a few hundred terms.
FOURIER_ATTENTION_ATOL = 1e-5
# The whole InceptionV3 + attention + head in float32 against torchvision's own forward with the
# same weights: identical operations in the same order except the attention, recomputed in float64.
FOURIER_MODEL_ATOL = 1e-4
# log(|DCT| + 1e-12) in float32 against scipy's float64 DCT: the log of tiny coefficients amplifies
# their float32 rounding (a coefficient of 1e-5 off by 1e-7 moves its log by 1e-2), so the
# comparison is made on coefficients whose magnitude exceeds 1e-3 (relative error ~1e-4 there).
LOG_DCT_ATOL = 1e-3

# --- phase 5 (continued: attacks, adversarial training, Grad-CAM) ------------------------------

# FGSM/PGD images against torchattacks 3.5.1 on the same model and inputs: the same sign steps, so
# equal up to float32 rounding of x + alpha * sign(g) and the clamps (one 8-bit level is 3.9e-3).
ATTACK_VS_TORCHATTACKS = dict(rtol=0.0, atol=1e-6)
# One SGD step (lr 0.5) on the PGD batch against the same step on torchattacks' PGD batch: float32
# rounding of the same operations in another order.
ADVERSARIAL_STEP_VS_ORACLE = dict(rtol=1e-5, atol=1e-6)
# Grad-CAM maps in [0, 1] against pytorch-grad-cam 1.5.7 on the same layer: float32 rounding,
# and the library's numpy means of float32 gradients against torch's.
GRADCAM_VS_LIBRARY_ATOL = 1e-5

# --- phase 4 (continued: colour across the face boundary) ----------------------------------------

# Delta E (CIE76) of OpenCV's float RGB->Lab against scikit-image's on skin colours: OpenCV's a and
# b come out in steps of 1/64 and its L differs by up to 0.07, so each channel is up to 0.17 off
# (measured on (200,150,120), (230,150,120), (90,60,40)) and a difference of two colours up to ~0.3.
LAB_DELTA_E_VS_SKIMAGE = 0.3

# --- face detection on keyframes (common/face_track.py detect_on_keyframes) ---
# MTCNN on every 4th frame of a 40-frame real-photograph talking head, boxes interpolated between,
# against MTCNN on every frame: the lowest IoU measured is 0.835 on the test's clip, 0.79-0.87 on
# 10-s clips (mean 0.96-0.98; MTCNN's own box jitters by a few pixels from frame to frame and
# interpolation smooths it out). The bound is the lowest seen, less a margin.
KEYFRAME_MIN_IOU = 0.75

# --- phase 5 integrated detector (tasks 5.12-5.14) ---------------------------------------------

# Stream and fusion outputs (float32 convolutions, LSTM and attention over a few dozen values)
# against the same maths recomputed in float64 numpy or by hand, or run on the unpadded clip: only
# float32 rounding and a different summation order differ (measured below 1e-6); a wrong sign,
# axis or mask moves the values by 1e-2 or more.
INTEGRATED_VS_ORACLE = dict(rtol=1e-4, atol=1e-5)
# Accuracy the integrated network must reach on held-out toy clips (flickering against still faces,
# the cue only frame-to-frame change carries) after 40 Adam steps: chance is 0.5; measured 1.0
# (already 0.97 after 25 steps).
INTEGRATED_TOY_MIN_ACCURACY = 0.9

# --- phase 1 (continued: Self-Blended Images, tasks 1.10-1.11) ---------------------------------

# The same float32 operations in another order (a blur normalised by its peak, x * M + (1 - M) * y,
# a contrast about a float64 mean): a few float32 ulps of values in [0, 1].
SBI_FLOAT32_ATOL = 1e-5
# OpenCV's float RGB <-> HSV against scikit-image's float64 one (and a hue rotated by a multiple of
# 60 degrees landing on a pure colour): OpenCV computes H in float32 (H = 60 (G - B) / (V - min)),
# so a channel comes back up to ~2e-7 off on pure colours and 4e-7 on the smooth test image
# (measured); 1e-5 leaves room and is still 400 times finer than one 8-bit level.
SBI_HSV_VS_SKIMAGE_ATOL = 1e-5
# cv2.warpAffine (bilinear) against scipy's affine_transform (order 1) on the same map: measured
# 1.5e-7 apart on the test images (float32 rounding of the same weights); 1e-4 leaves a wide margin
# while a wrong centre or a swapped scale moves values by 1e-2 or more. Should an OpenCV build use
# its fixed-point tables (weights in steps of 1/32 pixel) for float images, the gap would reach
# ~0.06 / 64 = 1e-3 on these images (slopes up to 0.06 per pixel) and this bound would need raising.
SBI_BILINEAR_WARP_ATOL = 1e-4

# --- Platt scaling against Platt's soft targets
PLATT_OPTIMUM_ATOL = 1e-3
"""Slope and intercept against scipy's Nelder-Mead optimum of the same cross-entropy (both solvers stop
at ~1e-6 relative; 1e-3 is far below what moves a probability in the third decimal)."""

# --- compression as training augmentation (train.py --train-reencode, issue 17) -----------------

# A training copy at CRF 23 of a mini-forensics clip (already CRF 18) against its source, both
# decoded by OpenCV: measured 37-42 dB on test clips (common/compression.py) and 34.2-39.9 dB on
# the 8 training clips of the tiny test benchmark (39.4 dB on the first, the one tested); 30 dB
# still says "a faithful copy", not a broken or blank file.
TRAIN_REENCODE_CRF23_MIN_PSNR_DB = 30.0
# CRF 40 quantises much harder than CRF 23: measured 28-34 dB against 37-42 dB on the same clips
# (a 6-9 dB gap), and 24.6-32.1 dB on the tiny benchmark's training clips (gap 7.8-9.6 dB);
# 3 dB proves the setting reached the encoder.
TRAIN_REENCODE_MIN_PSNR_GAP_DB = 3.0

# --- few-shot adaptation and active learning (few_shot.py, active_learning.py) -----------------

# few_shot.json stores each AUC mean rounded to 4 decimals; the same AUC recomputed with scikit-learn
# from the training run's own test scores differs by that rounding only (< 5e-5). One misordered
# pair of 4-5 fakes against 5-18 reals moves an AUC by 0.01 or more, so 1e-3 still catches it.
ADAPT_AUC_ROUNDING_ATOL = 1e-3

# --- second dataset (mini-forensics variants) --------------------------------------------------

# Full colour transfer of a source that is an exact affine map (2 x + 10) of its target: matching
# each channel's mean and spread inverts it; the only error is the transfer's 1e-3 guard on the
# source spread (relative 1e-3 / 2 sigma, about 2e-5 of a ~20-level deviation) and float32
# rounding. 0.01 gray levels is 100 times finer than one 8-bit step and far below the 10-level
# gap the mean shift alone leaves.
SYNTH_COLOUR_TRANSFER_ATOL = 0.01

# Consistency resampling (common.calibration.ece_if_calibrated): 4000 draws of 10 labels; the ECE
# of one draw has a standard deviation under 0.12, so the mean of 4000 is within about 0.002 of the
# binomial expectation (0.123); 0.01 is five standard errors.
ECE_RESAMPLING_ATOL = 0.01

# Accuracy gaps of a perfectly calibrated detector (common.calibration.gaps_if_calibrated): 4000
# draws of two videos; a share near 0.16 has a standard error of sqrt(0.16 * 0.84 / 4000) = 0.006
# and the gap's mean (a k - 1 of standard deviation 0.69) 0.011; 0.06 is over five of either. A third
# of it (0.02) for the share of a miss over 20000 draws: a standard error of at most 0.0035.
GAP_RESAMPLING_ATOL = 0.06

# Task 3.13 on the benchmark's gan_upsample output: float32 pixels (about 7 significant digits) summed
# over 576 pixels; the diagonal amplitude (9e-4) is a small difference of large sums, good to ~1e-5.
CHECKERBOARD_FLOAT32_RTOL = 1e-4

# Mean CIELAB lightness (OpenCV's 8-bit L, 0-255) of the face mesh's forehead region against the
# cheeks' on scikit-image's astronaut: bare skin of the same face, lit from the front, differs by
# about 10 (the forehead 190, the cheeks 212 and 187); the hull up to the hairline points, half
# of it her fringe, is about 50 darker.
FOREHEAD_CHEEKS_LIGHTNESS_GAP = 20.0

# --- late fusion (common.fusion, version 5: a mixture of likelihood ratios) ----------------------

# One detector's log-likelihood ratio fitted by fit_log_likelihood_ratio on 2000 real and 500 fake
# log-odds drawn from N(0, 1) and N(2, 1), whose true log-likelihood ratio is 2 x - 2: over 20 seeds
# the fitted slope scatters by 0.06 and the offset by 0.085 (standard deviations); 0.35 is four of
# the offset's.
LLR_GAUSSIAN_ATOL = 0.35

# The fitted mixture against the Bayes-optimal any-fake score (the true mixture of likelihood ratios
# of the generating Gaussians), both scored on 3000 real and 3000 fake test videos: an AUC there has
# a standard error of about 0.003, and the fit on 600 validation videos costs about 0.001 (measured
# 0.960 against 0.961); 0.01 is three standard errors and still far below the 0.07 by which a
# logistic regression on the same log-odds (a weighted sum) falls short.
FUSION_BAYES_AUC_ATOL = 0.01

# Task 5.17 (person offsets): the ANOVA estimates of a random-effects model on 400 people x 4 videos
# (mean 1.5, between 4, within 1) land within these of the truth (measured over seeds 0-19: |error| up to
# 0.31, 0.59 and 0.094); and the regression of the true offsets on the reference means has the
# shrinkage's slope to within this (20000 simulated people: standard error about 0.007).
PERSON_MU_ATOL = 0.4
PERSON_BETWEEN_ATOL = 0.8
PERSON_WITHIN_ATOL = 0.15
PERSON_SHRINKAGE_SLOPE_ATOL = 0.03

# --- Two-sided Platt scaling (common.calibration.side_slopes, best_knot)
# A side's slope against scikit-learn's logistic regression without intercept on that side's videos
# (both solve the same convex problem; lbfgs stops at its own tolerance).
TWO_SIDED_SLOPE_ATOL = 1e-4
