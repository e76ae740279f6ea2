"""The words and phrases the built-in enhancer compares a prompt with: several per value of each of the
world's attributes (generation/builtin/world.py), plus the function words it never reports.

A prompt's word or phrase takes the value of its nearest anchor by meaning (the sentence embedder), so
the lists need not name every synonym: they give the embedder several points per value to be near.
"""

from __future__ import annotations

from generation.builtin import world

COLOUR = "colour"
SHAPE = "shape"
MOTION = "motion"
SPEED = "speed"
BACKGROUND = "background"
CAMERA = "camera"  # "camera", "pans": turns a left/right in its clause into a camera pan
MOVE = "move"  # a verb of going somewhere ("glides", "travels"): a direction gives it its way
HIT = "hit"  # the main object runs into the second one

# fmt: off
ANCHORS: dict[str, dict[str, tuple[str, ...]]] = {
    COLOUR: {
        "red": (
            "red", "crimson", "scarlet", "cherry", "cherry red", "ruby", "vermilion", "maroon",
            "burgundy", "blood red", "brick red", "tomato red", "reddish", "rouge", "cardinal red",
            "carmine", "claret", "garnet", "cranberry", "strawberry", "fire engine red", "poppy red",
        ),
        "orange": (
            "orange", "tangerine", "amber", "apricot", "pumpkin", "copper", "rust", "carrot",
            "orangey", "marigold", "ginger", "peach", "clementine", "mandarin", "persimmon", "terracotta",
            "burnt orange", "cantaloupe", "papaya", "orangish",
        ),
        "yellow": (
            "yellow", "golden", "gold", "lemon", "mustard", "canary", "sunflower", "butter", "banana",
            "saffron", "blonde", "yellowish", "sunshine yellow", "honey", "daffodil", "buttercup",
            "dandelion", "citrine", "maize", "corn yellow",
        ),
        "green": (
            "green", "emerald", "lime", "olive", "jade", "mint", "forest green", "leafy green", "sage",
            "chartreuse", "kelly green", "pea green", "greenish", "grass green", "moss", "pine green",
            "shamrock", "fern", "avocado", "pistachio", "seafoam", "spring green",
        ),
        "blue": (
            "blue", "navy", "azure", "cobalt", "sapphire", "cyan", "sky blue", "royal blue", "cerulean",
            "turquoise", "teal", "bluish", "baby blue", "ultramarine", "denim", "ocean blue", "aqua",
            "powder blue", "steel blue", "midnight blue", "cornflower", "sea blue",
        ),
        "purple": (
            "purple", "violet", "lavender", "lilac", "plum", "mauve", "amethyst", "grape", "eggplant",
            "orchid", "indigo", "purplish", "aubergine", "heather", "periwinkle", "mulberry",
            "royal purple", "wine",
        ),
        "pink": (
            "pink", "magenta", "rose", "salmon", "fuchsia", "blush", "bubblegum", "hot pink", "coral",
            "flamingo pink", "rosy", "cerise", "pinkish", "carnation", "watermelon", "peony",
            "baby pink", "candy pink", "raspberry",
        ),
        "white": (
            "white", "ivory", "snow white", "snowy", "pearl", "milky", "cream", "chalk white",
            "alabaster", "bone white", "silver", "pale white", "whitish", "eggshell", "frost", "frosty",
            "porcelain", "linen", "cotton white", "vanilla", "platinum", "off-white",
        ),
    },
    SHAPE: {
        "ball": (
            "ball", "sphere", "orb", "globe", "circle", "round ball", "marble", "bubble", "disc", "bead",
        ),
        "box": (
            "box", "cube", "square", "block", "crate", "brick", "cuboid", "package", "dice", "square block",
        ),
        "triangle": ("triangle", "pyramid", "wedge", "triangular shape", "three-sided shape"),
        "diamond": ("diamond", "rhombus", "lozenge", "gem", "jewel", "crystal", "diamond shape"),
        "star": ("star", "five-pointed star", "starburst", "star shape", "twinkle star"),
        "heart": ("heart", "valentine", "heart shape", "valentine heart", "heart symbol", "love symbol"),
        "fish": (
            "fish", "goldfish", "minnow", "trout", "guppy", "sardine", "carp", "tuna", "little fish", "koi",
            "cod", "herring", "angelfish", "clownfish", "mackerel", "perch", "fishy",
        ),
        "ghost": (
            "ghost", "spirit", "phantom", "spook", "spectre", "specter", "ghoul", "apparition", "wraith",
            "poltergeist", "banshee", "ghostie",
        ),
        "cat": (
            "cat", "kitten", "kitty", "tabby", "feline", "pussycat", "tomcat", "kitty cat", "moggy",
            "calico", "puss",
        ),
    },
    MOTION: {
        "left": (
            "left", "to the left", "leftward", "leftwards", "moving left", "moves left", "slides left",
            "drifts left", "heads left", "going left", "westward", "leftbound",
        ),
        "right": (
            "right", "to the right", "rightward", "rightwards", "moving right", "moves right",
            "slides right", "drifts right", "heads right", "going right", "eastward", "rightbound",
        ),
        "up": (
            "up", "rising", "rises", "floating up", "floats up", "ascending", "ascends", "upward",
            "upwards", "climbing", "climbs", "soaring", "levitating", "lifting off", "going up",
            "rises up", "moving up", "skyward", "skywards", "hovering upward", "lifts", "elevating",
        ),
        "down": (
            "down", "sinking", "sinks", "descending", "descends", "downward", "downwards",
            "going down", "drifting down", "lowering", "moving down", "sinks down", "settling down",
            "dipping", "lower and lower",
        ),
        "bounce": (
            "bounce", "bounces", "bouncing", "bounced", "hopping", "hops", "hop", "jumping", "jumps",
            "bounding", "springing", "leaping", "leaps", "up and down", "hopping up and down",
            "boing", "bouncy", "bobbing", "pogoing", "skipping", "hops around",
        ),
        "fall": (
            "fall", "falls", "falling", "fell", "dropping", "drops", "drop", "tumbling down", "plummeting",
            "plummets", "plunging", "falls down", "falling down", "drops to the floor", "drops down",
            "tumbles", "toppling", "topples", "plunges", "crashing down", "free fall", "dropping down",
        ),
        "spin": (
            "spin", "spins", "spinning", "rotating", "rotates", "rotate", "twirling", "twirls",
            "whirling", "whirls", "turning around", "revolving", "pirouetting", "spins around",
            "going round and round", "swiveling", "gyrating", "spins in place", "turns in circles",
        ),
        "grow": (
            "grow", "grows", "growing", "getting bigger", "gets bigger", "expanding", "expands",
            "swelling", "swells", "enlarging", "inflating", "inflates", "growing larger", "ballooning",
            "bigger", "larger", "bigger and bigger", "puffing up", "blowing up", "getting larger",
            "magnifying", "widening",
            "scaling up",
        ),
        "shrink": (
            "shrink", "shrinks", "shrinking", "getting smaller", "gets smaller", "contracting",
            "contracts", "dwindling", "deflating", "deflates", "diminishing", "growing smaller", "smaller",
            "tinier", "smaller and smaller", "shriveling", "withering", "compressing", "getting tinier",
            "scaling down",
        ),
    },
    SPEED: {
        "slowly": (
            "slowly", "slow", "gently", "lazily", "leisurely", "gradually", "unhurried", "sluggishly",
            "calmly", "at a crawl", "slow motion", "gentle", "languidly", "at a snail's pace", "softly",
        ),
        "quickly": (
            "quickly", "fast", "rapidly", "swiftly", "speedily", "hastily", "briskly", "quick", "speedy",
            "hurriedly", "at high speed", "rapid", "swift", "in a hurry", "in a flash", "furiously",
            "like lightning", "brisk", "zippy",
        ),
    },
    BACKGROUND: {
        "room": (
            "on a blue floor", "blue floor", "in a room with a blue floor", "room", "indoors",
            "blue carpet", "blue ground", "blue tiles", "inside a room", "navy floor", "living room",
            "bedroom", "blue rug", "inside",
        ),
        "field": (
            "in a grassy field", "on green grass", "grassy field", "grass", "meadow", "lawn", "park",
            "pasture", "green field", "grassland", "prairie", "green ground", "blue sky", "under a blue sky",
            "outdoors", "sunny day", "garden", "countryside", "hillside", "grassy hill", "field",
            "under the sun", "in the sunshine", "sunlight",
        ),
        "night": (
            "at night", "under a night sky", "night", "night sky", "dark sky", "starry night",
            "nighttime", "midnight", "after dark", "darkness", "moonlit", "in the dark",
            "black background", "dark background", "black floor", "starry sky", "moonlight",
            "late at night", "under the moon", "dark night",
        ),
        "beach": (
            "on the beach", "on a sandy beach", "beach", "sand", "sandy", "seaside", "shore",
            "seashore", "coast", "by the sea", "dunes", "sandy ground", "desert", "by the ocean", "ocean",
            "sandy shore", "tropical beach",
        ),
        "gray": (
            "in a gray room", "in a plain gray room", "gray room", "grey room", "gray", "grey",
            "plain gray room", "plain grey room",
            "plain room", "grey background", "gray studio", "concrete room", "grey walls", "studio",
            "empty room", "neutral background", "grey backdrop", "featureless room",
        ),
    },
    CAMERA: {
        "camera": (
            "camera", "pans", "pan", "panning", "camera pans", "tracking shot", "camera moves", "view",
            "camera sweeps", "camera tracks",
        ),
    },
    MOVE: {
        "move": (
            "moving", "moves", "sliding", "slides", "gliding", "glides", "travelling", "traveling",
            "travels", "drifting", "drifts", "rolling", "rolls", "heading", "heads", "going", "goes",
            "racing", "races", "zooming", "zooms", "darting", "darts", "scooting", "cruising",
            "swims", "swimming", "walks", "walking", "runs", "running", "crawls", "crawling", "flies",
            "flying", "wanders",
        ),
    },
    HIT: {
        "hit": (
            "hits", "hitting", "hit", "knocks", "knocking", "knocks away", "bumps into", "crashes into",
            "collides with", "smashes into", "strikes", "runs into", "slams into", "rams", "pushes",
            "shoves", "bangs into", "knocks over", "until it hits", "smacks",
        ),
    },
}
# fmt: on

# Never reported as unmapped: they carry grammar, or only ask for a video ("please show me"). Cue words
# that place the second object ("next to", "with") are here too: the scene's structure takes them.
STOPWORDS = frozenset(
    """
    a an the this that these those some any one its it it's their his her them they he she we you i
    is are was were be been being am do does did has have had will would can could should may might
    and or but then while as when where which who whom whose so than too very just also again still
    of in on at to from by for with without into onto upon over under above below across through
    along around about between behind beneath beside besides near nearby next alongside against
    toward towards past off out there here now once until till after before during
    all each every both either neither not no nor only own same such what how why away
    my your our me us him itself themselves something thing object shape item
    please show see want make create generate render imagine picture video clip scene animation
    would like i'd let's setting close colored coloured color colour hued tinted toned shade shaded
    """.split()
)
# Words that say the word before them is a colour ("ocean coloured", "honey-hued").
TINTS = frozenset({"colored", "coloured", "color", "colour", "hued", "tinted", "toned", "shaded"})
# Words of the floor and sky every background has: "on the floor", "into the sky" fit any scene.
GROUND = frozenset({"floor", "ground", "surface", "bottom", "sky", "air"})
# A colour right before one of these names the ground, not an object: the background with that floor.
SURFACES = frozenset({"floor", "ground", "carpet", "rug", "tiles", "backdrop", "background", "wall", "walls"})
GROUND_COLOURS = {"blue": "room", "green": "field", "yellow": "beach", "orange": "beach"}
COMPANY = frozenset(
    {"next", "beside", "besides", "near", "nearby", "alongside", "with", "by", "close", "and"}
)
SIZES = frozenset({"small", "little", "tiny", "wee", "mini", "miniature"})


def anchors_check() -> None:
    """Every value the vocabulary names is one the world knows (run by the tests)."""
    known = {
        COLOUR: set(world.COLOURS),
        SHAPE: set(world.SHAPES),
        MOTION: set(world.MOTIONS),
        SPEED: {s for s in world.SPEEDS if s},
        BACKGROUND: set(world.BACKGROUNDS),
    }
    for attribute, values in known.items():
        if set(ANCHORS[attribute]) != values:
            raise ValueError(
                f"{attribute}: anchors for {sorted(ANCHORS[attribute])}, world has {sorted(values)}"
            )
