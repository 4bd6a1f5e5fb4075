"""Realistic customer traffic for the sandbox X API: complaints, questions, praise, noise, threads, DMs.

`plan_item` is pure (an explicit `random.Random` in, a `PlannedItem` out), so a seed reproduces a run;
`emit_item` stores one planned item through the services. Texts are written for a generic consumer
brand (orders, deliveries, billing, app crashes, outages); some carry personal data (emails, phone
numbers, order numbers) on purpose, so the helpdesk's privacy guards have something to catch.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mentions.sandbox import services
from mentions.sandbox.models import SandboxDMEvent, SandboxPost, SandboxUser

CATEGORIES = (
    "complaint",
    "question",
    "praise",
    "noise",
    "thread",
    "personal_data",
    "foreign",
    "dm",
)
WEIGHTS = (24, 18, 9, 14, 13, 6, 8, 8)

COMPLAINTS = [
    "{at} my order {order} was supposed to arrive {days} days ago. Still nothing. What is going on?",
    "{at} your app crashes every time I open the {feature} screen. Reinstalled twice. Useless.",
    "{at} charged twice for the same order ({order}). I want my money back today.",
    "{at} third time this month the site is down when I try to pay. Seriously?",
    "{at} package marked delivered but it is NOT here. {city} depot lost it again?",
    "{at} been on hold for {minutes} minutes. Nobody picks up. Great customer service 🙄",
    "{at} the {feature} feature stopped working after the last update",
    "{at} refund for {order} still not processed after {days} days",
    "Is {brand} down for anyone else? Can't log in at all {at}",
    "{at} delivery driver left my parcel in the rain. Everything is soaked.",
    "{at} I cancelled my subscription and you billed me again. Fix this.",
    "{at} wrong item delivered in order {order}, I ordered a {product} and got something else",
]
QUESTIONS = [
    "{at} hi, how do I change the delivery address on an order that already shipped?",
    "{at} do you ship to {city}? Could not find it on the site",
    "{at} quick question: can I return a {product} after 30 days?",
    "{at} when will the {feature} feature be back? Need it for work",
    "{at} is there a student discount?",
    "{at} how long does a refund usually take to show up on my card?",
    "{at} what's the status of order {order}? Tracking hasn't updated since {weekday}",
    "{at} is the app supposed to log me out every day now?",
]
PRAISE = [
    "{at} shoutout to your support team, sorted my issue in 5 minutes 🙌",
    "{at} the new {feature} screen is so much better, thank you!",
    "Got my {product} a day early, {brand} never disappoints {at}",
    "{at} thanks for the quick refund, much appreciated",
]
NOISE = [
    "Anyone tried the new {brand} {product}? Thinking about getting one",
    "{brand} ad during the game again lol",
    "my cat is sitting in the {brand} box instead of the bed I bought her",
    "Comparing {brand} and two others for my next {product}, any opinions?",
    "Saw a {brand} delivery van in {city} today, they are everywhere",
    "the {brand} jingle is stuck in my head send help",
]
THREAD_FOLLOWUPS = [
    "{at} still waiting on this",
    "{at} any update? It's been hours",
    "{at} I sent the DM, no answer yet",
    "{at} ok thanks, that worked!",
    "{at} that didn't help at all. Same problem.",
    "{at} order number is {order} if that helps",
]
PERSONAL_DATA = [
    "{at} please call me on {phone}, order {order} never arrived",
    "{at} my email is {email}, account locked and I need my order {order}",
    "{at} can someone email me at {email}? Card ending 4242 charged twice",
    "{at} I'm at {street}, {city}. Driver says nobody home but I was here all day",
]
FOREIGN = [
    ("es", "{at} mi pedido {order} no ha llegado todavía, ¿qué pasa?"),
    ("es", "{at} la app se cierra sola cada vez que intento pagar"),
    (
        "fr",
        "{at} ma commande {order} est en retard de {days} jours, c'est inadmissible",
    ),
    ("fr", "{at} bonjour, comment modifier mon adresse de livraison ?"),
    ("de", "{at} meine Bestellung {order} ist immer noch nicht da. Was ist los?"),
    ("de", "{at} die App stürzt ständig ab seit dem Update"),
    ("pt", "{at} meu pedido {order} ainda não chegou, alguém pode ajudar?"),
    ("pt", "{at} fui cobrado duas vezes, preciso do reembolso"),
    ("ja", "{at} 注文{order}がまだ届きません。確認してください。"),
    ("ja", "{at} アプリがすぐに落ちます。どうすればいいですか?"),
]
DMS = [
    "Hi, my order {order} hasn't arrived. My email is {email}.",
    "Hello, I was charged twice. Can you check? Phone {phone}.",
    "Following up from my public post: order {order}, address {street}, {city}.",
    "Hey, how do I delete my account?",
    "The app keeps crashing on {feature}. iPhone, latest version.",
]

FIRST = [
    "Jane",
    "Omar",
    "Lucia",
    "Ken",
    "Priya",
    "Tom",
    "Aiko",
    "Marta",
    "Felix",
    "Chloé",
    "Diego",
    "Sam",
    "Noah",
    "Ines",
]
LAST = [
    "Doe",
    "Khan",
    "García",
    "Sato",
    "Patel",
    "Müller",
    "Silva",
    "Dubois",
    "Nguyen",
    "Brown",
    "Rossi",
    "Kim",
]
PRODUCTS = [
    "blender",
    "headphones",
    "phone case",
    "smart lamp",
    "backpack",
    "coffee maker",
    "gift card",
]
FEATURES = [
    "checkout",
    "order tracking",
    "wishlist",
    "login",
    "notifications",
    "payment",
]
CITIES = ["Leeds", "Austin", "Lyon", "Porto", "Osaka", "Munich", "Madrid", "Toronto"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@dataclass(frozen=True)
class Persona:
    username: str
    name: str
    followers_count: int
    verified: bool


@dataclass(frozen=True)
class PlannedItem:
    category: str
    text: str
    lang: str
    author: Persona
    is_dm: bool = False
    in_reply_to: int | None = None


@dataclass(frozen=True)
class ThreadCandidate:
    """A recent post a customer might continue: the brand's reply to them, or their own post."""

    post_id: int
    customer_username: str


def brand_words(handle: str) -> str:
    """ "EarshotDemo" → "Earshot Demo": what people type when they don't @mention the brand."""
    return " ".join(re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", handle)) or handle


def make_persona(rng: random.Random) -> Persona:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    handle = re.sub(
        r"\W", "", f"{first}{rng.choice(['_', '', '.'])}{last}".replace(".", "_")
    )
    handle = (handle.encode("ascii", "ignore").decode() or "user")[:11] + str(
        rng.randint(1, 9999)
    )
    roll = rng.random()
    followers = (
        rng.randint(250_000, 3_000_000)
        if roll < 0.03
        else rng.randint(2_000, 60_000)
        if roll < 0.15
        else rng.randint(0, 1_500)
    )
    return Persona(
        handle[:15],
        f"{first} {last}",
        followers,
        verified=followers > 200_000 or rng.random() < 0.04,
    )


def _fill(
    template: str, rng: random.Random, brand_handle: str, *, mention: bool = True
) -> str:
    slots = {
        "at": f"@{brand_handle}" if mention else "",
        "brand": brand_words(brand_handle),
        "order": f"#{rng.randint(100000, 999999)}",
        "days": str(rng.randint(2, 14)),
        "minutes": str(rng.choice([20, 45, 60, 90])),
        "feature": rng.choice(FEATURES),
        "product": rng.choice(PRODUCTS),
        "city": rng.choice(CITIES),
        "weekday": rng.choice(WEEKDAYS),
        "email": f"{rng.choice(FIRST).lower()}.{rng.randint(10, 99)}@example.com",
        "phone": f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        "street": f"{rng.randint(1, 220)} {rng.choice(['High St', 'Elm Road', 'Rue Victor Hugo', 'Calle Mayor'])}",
    }
    return " ".join(template.format(**slots).split())


def plan_item(
    rng: random.Random,
    brand_handle: str,
    *,
    threads: Sequence[ThreadCandidate] = (),
    category: str | None = None,
) -> PlannedItem:
    """Decide one customer post or DM (pure: same rng state and inputs → same item)."""
    category = category or rng.choices(CATEGORIES, weights=WEIGHTS)[0]
    if category == "thread" and not threads:
        category = "complaint"
    author = make_persona(rng)
    if category == "thread":
        target = rng.choice(list(threads))
        author = Persona(target.customer_username, "", 0, verified=False)
        text = _fill(rng.choice(THREAD_FOLLOWUPS), rng, brand_handle)
        return PlannedItem(category, text, "en", author, in_reply_to=target.post_id)
    if category == "foreign":
        lang, template = rng.choice(FOREIGN)
        return PlannedItem(category, _fill(template, rng, brand_handle), lang, author)
    if category == "dm":
        return PlannedItem(
            category,
            _fill(rng.choice(DMS), rng, brand_handle),
            "en",
            author,
            is_dm=True,
        )
    pool = {"complaint": COMPLAINTS, "question": QUESTIONS, "praise": PRAISE, "noise": NOISE,
            "personal_data": PERSONAL_DATA}[category]  # fmt: skip
    return PlannedItem(
        category,
        _fill(rng.choice(pool), rng, brand_handle, mention=category != "noise"),
        "en",
        author,
    )


def thread_candidates(brand: SandboxUser, *, limit: int = 30) -> list[ThreadCandidate]:
    """Recent brand replies to customers (so customers answer the brand) and recent customer posts."""
    candidates = [
        ThreadCandidate(post.id, post.in_reply_to_user.username)
        for post in SandboxPost.objects.filter(
            author=brand, in_reply_to_user__isnull=False, is_deleted=False
        )
        .select_related("in_reply_to_user")
        .order_by("-id")[:limit]
        if post.in_reply_to_user is not None and post.in_reply_to_user_id != brand.pk
    ]
    candidates += [
        ThreadCandidate(post.id, post.author.username)
        for post in SandboxPost.objects.filter(
            mention_usernames__contains=f" {brand.username_lower} ", is_deleted=False
        )
        .exclude(author=brand)
        .select_related("author")
        .order_by("-id")[: limit // 3]
    ]
    return candidates


def emit_item(
    item: PlannedItem, brand: SandboxUser, *, now: datetime | None = None
) -> SandboxPost | SandboxDMEvent:
    """Store a planned item as the persona (created on first use)."""
    persona = item.author
    author = services.get_or_create_user(
        persona.username, persona.name or persona.username, followers_count=persona.followers_count,
        verified=persona.verified,
    )  # fmt: skip
    if item.is_dm:
        return services.create_dm(author, brand, item.text, created_at=now)
    return services.create_post(
        author, item.text, in_reply_to=item.in_reply_to, lang=item.lang, created_at=now
    )


def generate_one(
    rng: random.Random, brand: SandboxUser
) -> SandboxPost | SandboxDMEvent:
    return emit_item(
        plan_item(rng, brand.username, threads=thread_candidates(brand)), brand
    )
