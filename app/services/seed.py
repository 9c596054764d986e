"""The "seed" data set: the French platform's size after six months.

567 administrations, 350 published procedures, 5,000 agents, 30,000 applicants and 50,000
dossiers in every state, with their history, follows and messages: enough volume to see
how screens, queries and exports behave at a realistic size (``performance-notes.md``),
which the small readable demo (``services/demo.py``) cannot show.

Why it is written the way it is:

- Speed. Going through the ORM row by row, and hashing 35,000 passwords, takes tens of
  minutes. Rows are built as plain dicts and written with Core ``INSERT``s in batches, with
  primary keys handed out here (after each table's current maximum) so no id is ever read
  back; every seeded account shares one password hash (``SEED_PASSWORD``).
- Truthful histories. Each dossier is moved through ``workflow.TRANSITIONS`` and stamped
  by ``workflow._stamp`` (on a light stand-in object, not an ORM dossier), so its state,
  timestamps and ``StateTransition`` rows are exactly what the real workflow would leave.
- Reproducible. One ``random.Random(RANDOM_SEED)``; only "now" differs between runs.
- Safe. One transaction, committed at the end; loading twice changes nothing (an
  administration with slug ``MARKER_SLUG`` says the seed is there).
"""

from __future__ import annotations

import itertools
import math
import random
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from werkzeug.security import generate_password_hash

from .. import workflow
from ..extensions import db
from ..models import (
    Administration,
    AdministrationKind,
    AdministrationMember,
    AuthorKind,
    CorrectionReason,
    DeclarativeMode,
    Dossier,
    DossierState,
    FieldDefinition,
    FilerKind,
    Follow,
    InstructorGroup,
    Message,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    StateTransition,
    instructor_group_member,
    utcnow,
)
from ..security import Roles
from ..workflow import TRANSITIONS, Event
from . import tables

SEED_PASSWORD = "guichet-seed-2026"
"""Password of every seeded account (they share one hash, computed once per load)."""

MARKER_SLUG = "seed-0001"
"""Slug of the first seeded administration: its presence means the seed is loaded."""

RANDOM_SEED = 2026
BATCH_SIZE = 5_000
SPAN = timedelta(days=182)
"""The platform's age: everything seeded happened within the last six months."""

ZIPF_EXPONENT = 1.1
"""Dossiers per procedure follow Zipf's law; with 350 procedures, 1.1 gives the largest
one about 20 % of all dossiers, as on the real platform."""

EMAIL_DOMAINS = {
    Roles.AGENT: "agents.seed.example",
    Roles.APPLICANT: "usagers.seed.example",
    Roles.ADMINISTRATOR: "administrateurs.seed.example",
}

MOBILE_PREFIXES = ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77")
"""Mobile number blocks (after +33) that ``phonenumbers`` accepts whatever the next digits."""

S = DossierState

SQL_NULL = sa.null()
"""For JSON columns: Core would store a Python ``None`` as the JSON text ``null``."""


class SeedError(click.ClickException):
    """A seed that cannot be loaded; a ClickException so the CLI prints just the message."""


# --------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    of: str  # the name after "de": "de l'Ain", "du Rhône", "des Landes"


def _departments(text: str) -> list[Department]:
    return [Department(*line.split("|")) for line in text.strip().splitlines()]


DEPARTMENTS = _departments(
    """
01|Ain|de l'Ain
02|Aisne|de l'Aisne
03|Allier|de l'Allier
04|Alpes-de-Haute-Provence|des Alpes-de-Haute-Provence
05|Hautes-Alpes|des Hautes-Alpes
06|Alpes-Maritimes|des Alpes-Maritimes
07|Ardèche|de l'Ardèche
08|Ardennes|des Ardennes
09|Ariège|de l'Ariège
10|Aube|de l'Aube
11|Aude|de l'Aude
12|Aveyron|de l'Aveyron
13|Bouches-du-Rhône|des Bouches-du-Rhône
14|Calvados|du Calvados
15|Cantal|du Cantal
16|Charente|de la Charente
17|Charente-Maritime|de la Charente-Maritime
18|Cher|du Cher
19|Corrèze|de la Corrèze
2A|Corse-du-Sud|de la Corse-du-Sud
2B|Haute-Corse|de la Haute-Corse
21|Côte-d'Or|de la Côte-d'Or
22|Côtes-d'Armor|des Côtes-d'Armor
23|Creuse|de la Creuse
24|Dordogne|de la Dordogne
25|Doubs|du Doubs
26|Drôme|de la Drôme
27|Eure|de l'Eure
28|Eure-et-Loir|d'Eure-et-Loir
29|Finistère|du Finistère
30|Gard|du Gard
31|Haute-Garonne|de la Haute-Garonne
32|Gers|du Gers
33|Gironde|de la Gironde
34|Hérault|de l'Hérault
35|Ille-et-Vilaine|d'Ille-et-Vilaine
36|Indre|de l'Indre
37|Indre-et-Loire|d'Indre-et-Loire
38|Isère|de l'Isère
39|Jura|du Jura
40|Landes|des Landes
41|Loir-et-Cher|de Loir-et-Cher
42|Loire|de la Loire
43|Haute-Loire|de la Haute-Loire
44|Loire-Atlantique|de la Loire-Atlantique
45|Loiret|du Loiret
46|Lot|du Lot
47|Lot-et-Garonne|de Lot-et-Garonne
48|Lozère|de la Lozère
49|Maine-et-Loire|de Maine-et-Loire
50|Manche|de la Manche
51|Marne|de la Marne
52|Haute-Marne|de la Haute-Marne
53|Mayenne|de la Mayenne
54|Meurthe-et-Moselle|de Meurthe-et-Moselle
55|Meuse|de la Meuse
56|Morbihan|du Morbihan
57|Moselle|de la Moselle
58|Nièvre|de la Nièvre
59|Nord|du Nord
60|Oise|de l'Oise
61|Orne|de l'Orne
62|Pas-de-Calais|du Pas-de-Calais
63|Puy-de-Dôme|du Puy-de-Dôme
64|Pyrénées-Atlantiques|des Pyrénées-Atlantiques
65|Hautes-Pyrénées|des Hautes-Pyrénées
66|Pyrénées-Orientales|des Pyrénées-Orientales
67|Bas-Rhin|du Bas-Rhin
68|Haut-Rhin|du Haut-Rhin
69|Rhône|du Rhône
70|Haute-Saône|de la Haute-Saône
71|Saône-et-Loire|de Saône-et-Loire
72|Sarthe|de la Sarthe
73|Savoie|de la Savoie
74|Haute-Savoie|de la Haute-Savoie
75|Paris|de Paris
76|Seine-Maritime|de la Seine-Maritime
77|Seine-et-Marne|de Seine-et-Marne
78|Yvelines|des Yvelines
79|Deux-Sèvres|des Deux-Sèvres
80|Somme|de la Somme
81|Tarn|du Tarn
82|Tarn-et-Garonne|de Tarn-et-Garonne
83|Var|du Var
84|Vaucluse|de Vaucluse
85|Vendée|de la Vendée
86|Vienne|de la Vienne
87|Haute-Vienne|de la Haute-Vienne
88|Vosges|des Vosges
89|Yonne|de l'Yonne
90|Territoire de Belfort|du Territoire de Belfort
91|Essonne|de l'Essonne
92|Hauts-de-Seine|des Hauts-de-Seine
93|Seine-Saint-Denis|de la Seine-Saint-Denis
94|Val-de-Marne|du Val-de-Marne
95|Val-d'Oise|du Val-d'Oise
971|Guadeloupe|de la Guadeloupe
972|Martinique|de la Martinique
973|Guyane|de la Guyane
974|La Réunion|de La Réunion
976|Mayotte|de Mayotte
"""
)

REGIONS = [
    "Auvergne-Rhône-Alpes",
    "Bourgogne-Franche-Comté",
    "Bretagne",
    "Centre-Val de Loire",
    "Corse",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Normandie",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur",
]

ACADEMIES = [
    "Aix-Marseille", "Amiens", "Besançon", "Bordeaux", "Clermont-Ferrand", "Corse", "Créteil",
    "Dijon", "Grenoble", "Lille", "Limoges", "Lyon", "Montpellier", "Nancy-Metz", "Nantes",
    "Nice", "Normandie", "Orléans-Tours", "Paris", "Poitiers", "Reims", "Rennes", "Strasbourg",
    "Toulouse", "Versailles", "Guadeloupe", "Martinique", "Guyane", "La Réunion",
]  # fmt: skip


@dataclass(frozen=True)
class City:
    name: str
    postcode: str
    insee: str
    department: str


CITIES = [
    City(*fields.split("|"))
    for fields in """
Paris|75011|75056|75
Marseille|13005|13055|13
Lyon|69003|69123|69
Toulouse|31000|31555|31
Nice|06000|06088|06
Nantes|44000|44109|44
Montpellier|34000|34172|34
Strasbourg|67000|67482|67
Bordeaux|33000|33063|33
Lille|59000|59350|59
Rennes|35000|35238|35
Reims|51100|51454|51
Toulon|83000|83137|83
Saint-Étienne|42000|42218|42
Le Havre|76600|76351|76
Grenoble|38000|38185|38
Dijon|21000|21231|21
Angers|49000|49007|49
Nîmes|30000|30189|30
Villeurbanne|69100|69266|69
Clermont-Ferrand|63000|63113|63
Le Mans|72000|72181|72
Aix-en-Provence|13100|13001|13
Brest|29200|29019|29
Tours|37000|37261|37
Amiens|80000|80021|80
Limoges|87000|87085|87
Annecy|74000|74010|74
Perpignan|66000|66136|66
Metz|57000|57463|57
Besançon|25000|25056|25
Orléans|45000|45234|45
Rouen|76000|76540|76
Caen|14000|14118|14
Nancy|54000|54395|54
Poitiers|86000|86194|86
Pau|64000|64445|64
La Rochelle|17000|17300|17
Ajaccio|20000|2A004|2A
Quimper|29000|29232|29
Vannes|56000|56260|56
Chambéry|73000|73065|73
Valence|26000|26362|26
Avignon|84000|84007|84
Troyes|10000|10387|10
Bourg-en-Bresse|01000|01053|01
Laval|53000|53130|53
Niort|79000|79191|79
Saint-Denis|97400|97411|974
Fort-de-France|97200|97209|972
""".strip().splitlines()
]

TOWNS = [city.name for city in CITIES if city.name != "Saint-Denis"] + [
    "Saint-Malo", "Lorient", "Cholet", "Saint-Nazaire", "Colmar", "Mulhouse", "Belfort",
    "Chartres", "Blois", "Bourges", "Châteauroux", "Nevers", "Auxerre", "Mâcon",
    "Chalon-sur-Saône", "Vienne", "Roanne", "Aurillac", "Rodez", "Albi", "Montauban", "Cahors",
    "Agen", "Mont-de-Marsan", "Bayonne", "Biarritz", "Tarbes", "Foix", "Carcassonne", "Narbonne",
    "Béziers", "Sète", "Arles", "Salon-de-Provence", "Gap", "Digne-les-Bains", "Cannes",
    "Antibes", "Fréjus", "Bastia", "Montélimar", "Romans-sur-Isère", "Annemasse",
    "Thonon-les-Bains", "Aix-les-Bains", "Albertville", "Dole", "Lons-le-Saunier", "Pontarlier",
    "Épinal", "Saint-Dié-des-Vosges", "Verdun", "Bar-le-Duc", "Thionville", "Forbach",
    "Sélestat", "Charleville-Mézières", "Sedan", "Châlons-en-Champagne", "Épernay",
    "Saint-Quentin", "Laon", "Soissons", "Beauvais", "Compiègne", "Arras", "Lens", "Calais",
    "Boulogne-sur-Mer", "Dunkerque", "Roubaix", "Tourcoing", "Valenciennes", "Cambrai",
    "Évreux", "Dieppe", "Cherbourg-en-Cotentin", "Saint-Lô", "Alençon", "Lisieux",
    "Angoulême", "Cognac", "Périgueux", "Bergerac", "Brive-la-Gaillarde", "Tulle", "Guéret",
    "Vichy", "Montluçon", "Moulins", "Le Puy-en-Velay", "Mende", "Millau", "Saint-Brieuc",
    "Lannion", "Morlaix", "Pontivy", "Fougères", "Vitré", "Saint-Herblain", "Rezé",
    "La Roche-sur-Yon", "Les Sables-d'Olonne", "Saumur", "Argenteuil", "Montreuil",
    "Boulogne-Billancourt", "Nanterre", "Créteil", "Versailles", "Évry-Courcouronnes",
    "Cergy", "Meaux", "Melun",
]  # fmt: skip

MINISTRIES = [
    "Ministère de l'Intérieur",
    "Ministère de l'Éducation nationale",
    "Ministère de la Culture",
    "Ministère des Armées",
    "Ministère de la Justice",
    "Ministère du Travail et de l'Emploi",
    "Ministère de la Santé et de l'Accès aux soins",
    "Ministère de l'Agriculture et de la Souveraineté alimentaire",
    "Ministère de la Transition écologique",
    "Ministère de l'Économie et des Finances",
    "Ministère de l'Enseignement supérieur et de la Recherche",
    "Ministère des Sports, de la Jeunesse et de la Vie associative",
    "Ministère de l'Europe et des Affaires étrangères",
    "Ministère des Outre-mer",
    "Ministère de la Transformation et de la Fonction publiques",
    "Ministère du Logement et de la Rénovation urbaine",
]

UNIVERSITIES = [
    "Université de Rennes", "Université de Lille", "Université de Bordeaux",
    "Université de Strasbourg", "Université de Montpellier", "Université Grenoble Alpes",
    "Université Paris Cité", "Sorbonne Université", "Université Claude Bernard Lyon 1",
    "Aix-Marseille Université", "Nantes Université", "Université de Tours",
    "Université de Poitiers", "Université de Caen Normandie", "Université de Rouen Normandie",
    "Université de Lorraine", "Université de Bourgogne", "Université de Franche-Comté",
    "Université Clermont Auvergne", "Université de Limoges", "Université d'Angers",
    "Le Mans Université", "Université de Bretagne Occidentale", "Université Bretagne Sud",
    "Université de Picardie Jules Verne", "Université d'Artois",
    "Université du Littoral Côte d'Opale", "Université de Reims Champagne-Ardenne",
    "Université de Perpignan Via Domitia", "Université de Pau et des Pays de l'Adour",
    "La Rochelle Université", "Université Côte d'Azur", "Université de Toulon",
    "Avignon Université", "Université de Nîmes", "Université de Toulouse",
    "Université Savoie Mont Blanc", "Université Jean Monnet Saint-Étienne",
    "Université d'Orléans", "Université de Corse Pasquale Paoli", "Université des Antilles",
    "Université de Guyane", "Université de La Réunion", "Université Paris-Saclay",
    "Université Paris Nanterre", "Université Sorbonne Paris Nord", "Université Gustave Eiffel",
    "CY Cergy Paris Université",
]  # fmt: skip

NATIONAL_ESTABLISHMENTS = [
    "France Travail", "Agence de la transition écologique (ADEME)",
    "Agence nationale de l'habitat (Anah)", "Office français de la biodiversité",
    "Agence de l'eau Loire-Bretagne", "Agence de l'eau Rhône Méditerranée Corse",
    "Agence de l'eau Seine-Normandie", "Agence de l'eau Adour-Garonne",
    "Agence de l'eau Artois-Picardie", "Agence de l'eau Rhin-Meuse",
    "Agence nationale du sport", "Centre national du cinéma et de l'image animée",
    "Voies navigables de France", "Office national des forêts", "FranceAgriMer",
    "Agence de services et de paiement",
]  # fmt: skip

FEMALE_FIRST_NAMES = [
    "Marie", "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura",
    "Pauline", "Mathilde", "Clara", "Lucie", "Anaïs", "Élodie", "Nathalie", "Isabelle",
    "Sylvie", "Catherine", "Christine", "Sandrine", "Valérie", "Céline", "Aurélie", "Émilie",
    "Sophie", "Claire", "Hélène", "Nadia", "Fatima", "Amina", "Louise", "Jade", "Alice", "Zoé",
    "Océane", "Margaux", "Juliette", "Brigitte", "Françoise", "Monique", "Yasmine", "Leïla",
]  # fmt: skip

MALE_FIRST_NAMES = [
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Julien", "Thomas", "Lucas",
    "Hugo", "Maxime", "Antoine", "Alexandre", "Kévin", "Romain", "Mathieu", "Sébastien",
    "Laurent", "Olivier", "Christophe", "Stéphane", "David", "Éric", "François", "Patrick",
    "Frédéric", "Guillaume", "Benoît", "Mehdi", "Karim", "Mohamed", "Youssef", "Théo", "Louis",
    "Gabriel", "Arthur", "Raphaël", "Léo", "Paul", "Jules", "Bernard", "Didier", "Yannick",
    "Loïc",
]  # fmt: skip

LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard",
    "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud",
    "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal",
    "Caron", "Picard", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier",
    "Bourgeois", "Rey", "Leclerc", "Payet", "Rolland", "Lopez", "Dupuy", "Guillot", "Hubert",
    "Berger", "Carpentier", "Sanchez", "Moulin", "Deschamps", "Huet", "Perez", "Fleury",
    "Klein", "Jacquet", "Poirier", "Marty", "Aubry", "Carré", "Charpentier", "Ménard",
    "Le Gall", "Le Goff", "Da Silva", "Benali", "Haddad", "Nguyen", "Hoarau", "Grondin",
]  # fmt: skip

STREETS = [
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Gambetta",
    "place de la Mairie", "rue du Général de Gaulle", "allée des Tilleuls", "chemin des Vignes",
    "rue Pasteur", "avenue de la Gare", "rue des Écoles", "impasse des Lilas",
    "rue Jules Ferry", "rue de l'Église", "boulevard Voltaire", "rue Nationale",
    "route de Lyon", "rue du Moulin", "avenue de la Libération", "rue des Jardins",
]  # fmt: skip

EMAIL_PROVIDERS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr", "sfr.fr"]


# --------------------------------------------------------------------------------------
# Administrations and their procedures
# --------------------------------------------------------------------------------------

K = AdministrationKind

KIND_SHARES = {
    K.ministry: 0.03,
    K.deconcentrated_service: 0.35,
    K.local_authority: 0.40,
    K.public_establishment: 0.17,
    K.other: 0.05,
}
"""The mix of kinds among partner administrations."""


def _of(name: str) -> str:
    """French "de" before a place name: de Lyon, d'Angers, du Mans, des Sables-d'Olonne."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if unicodedata.normalize("NFD", name[0])[0] in "AEIOUY":
        return "d'" + name
    return "de " + name


def _administration_pool() -> dict[AdministrationKind, list[tuple[str, str]]]:
    """Every administration name the seed may use, by kind, with its title family."""
    deconcentrated = [(f"Préfecture {d.of}", "prefecture") for d in DEPARTMENTS]
    deconcentrated += [
        (f"Direction départementale des territoires {d.of}", "territory") for d in DEPARTMENTS
    ]
    deconcentrated += [
        (f"Direction départementale de l'emploi, du travail et des solidarités {d.of}", "social")
        for d in DEPARTMENTS
    ]
    deconcentrated += [
        (f"Direction des services départementaux de l'Éducation nationale {d.of}", "education")
        for d in DEPARTMENTS
    ]
    for region in REGIONS:
        deconcentrated += [
            (f"DREAL {region}", "territory"),
            (f"DRAC {region}", "culture"),
            (f"Agence régionale de santé {region}", "social"),
        ]
    deconcentrated += [(f"Rectorat de l'académie {_of(a)}", "education") for a in ACADEMIES]
    local = [(f"Commune {_of(town)}", "commune") for town in TOWNS]
    local += [(f"Conseil départemental {d.of}", "department") for d in DEPARTMENTS]
    local += [(f"Région {region}", "region") for region in REGIONS]
    establishments = [(name, "university") for name in UNIVERSITIES]
    establishments += [(name, "agency") for name in NATIONAL_ESTABLISHMENTS]
    establishments += [(f"Caisse d'allocations familiales {d.of}", "social") for d in DEPARTMENTS]
    establishments += [(f"Crous {_of(a)}", "student") for a in ACADEMIES]
    establishments += [(f"Centre hospitalier {_of(city.name)}", "hospital") for city in CITIES]
    other = [(f"Association des maires {d.of}", "other") for d in DEPARTMENTS]
    other += [
        (f"Groupement d'intérêt public {name}", "other")
        for name in ("Maison de l'emploi", "Cafés-culture", "Pro Santé", "RECIA")
    ]
    return {
        K.ministry: [(name, "ministry") for name in MINISTRIES],
        K.deconcentrated_service: deconcentrated,
        K.local_authority: local,
        K.public_establishment: establishments,
        K.other: other,
    }


PROCEDURE_TITLES: dict[str, list[str]] = {
    "ministry": [
        "Appel à projets « Quartiers d'été »",
        "Demande d'agrément national d'association",
        "Reconnaissance d'une qualification professionnelle obtenue dans l'Union européenne",
        "Candidature au label « Entreprise du patrimoine vivant »",
        "Demande de subvention au titre du fonds pour le développement de la vie associative",
        "Demande de remise gracieuse",
        "Appel à projets innovation pédagogique",
    ],
    "prefecture": [
        "Demande de titre de séjour étudiant",
        "Autorisation de manifestation sportive sur la voie publique",
        "Déclaration de vide-grenier",
        "Demande d'agrément de garde particulier",
        "Demande de subvention FIPD (prévention de la délinquance)",
        "Dotation d'équipement des territoires ruraux (DETR)",
        "Demande de médaille d'honneur du travail",
        "Autorisation d'un système de vidéoprotection",
        "Demande d'autorisation de détention d'armes",
    ],
    "territory": [
        "Demande d'autorisation de défrichement",
        "Déclaration de travaux en site classé",
        "Demande de dérogation espèces protégées",
        "Attestation d'accessibilité d'un établissement recevant du public",
        "Déclaration de prélèvement d'eau",
        "Déclaration de manifestation nautique",
        "Aide à l'installation des jeunes agriculteurs",
    ],
    "social": [
        "Demande d'aide au BAFA",
        "Demande d'agrément de service à la personne",
        "Déclaration d'accueil collectif de mineurs",
        "Autorisation de travail pour un salarié étranger",
        "Financement d'un projet de prévention en santé",
        "Aide aux vacances familles",
        "Demande de financement d'un projet de centre social",
    ],
    "education": [
        "Demande d'autorisation d'instruction dans la famille",
        "Demande d'aménagement des épreuves d'examen",
        "Demande de dérogation de secteur scolaire",
        "Demande de bourse de collège",
        "Inscription aux épreuves du diplôme national du brevet (candidats libres)",
    ],
    "student": [
        "Demande d'aide spécifique ponctuelle",
        "Demande de logement en résidence universitaire",
        "Demande d'aide au mérite",
        "Candidature à un job étudiant au Crous",
    ],
    "culture": [
        "Subvention pour la restauration d'un monument historique",
        "Aide à la création artistique",
        "Demande de licence d'entrepreneur de spectacles",
        "Appel à projets « Été culturel »",
        "Autorisation de travaux sur un immeuble inscrit",
    ],
    "commune": [
        "Inscription à la cantine scolaire",
        "Inscription au centre de loisirs",
        "Demande de subvention associative",
        "Réservation d'une salle municipale",
        "Occupation du domaine public (terrasse)",
        "Inscription au conservatoire municipal",
        "Permis de végétaliser",
        "Aide à l'achat d'un vélo à assistance électrique",
        "Demande de place en crèche",
        "Carte de stationnement résident",
    ],
    "department": [
        "Demande d'allocation personnalisée d'autonomie (APA)",
        "Inscription au transport scolaire",
        "Aide au permis de conduire",
        "Fonds de solidarité pour le logement (FSL)",
        "Demande d'agrément d'assistant maternel",
        "Subvention aux associations sportives",
    ],
    "region": [
        "Aide régionale à la création d'entreprise",
        "Aide au premier équipement des apprentis",
        "Appel à projets « Tiers-lieux »",
        "Aide à l'acquisition d'un véhicule propre",
        "Bourse régionale des formations sanitaires et sociales",
        "Appel à projets économie sociale et solidaire",
    ],
    "university": [
        "Candidature en master",
        "Demande de bourse de mobilité internationale",
        "Inscription administrative en doctorat",
        "Demande d'aménagement d'études (situation de handicap)",
        "Validation des acquis de l'expérience (VAE)",
        "Demande de césure",
        "Demande d'exonération des droits d'inscription",
    ],
    "hospital": [
        "Demande d'accès au dossier médical",
        "Candidature en institut de formation en soins infirmiers",
        "Demande de convention de stage",
        "Réclamation d'un patient ou d'un proche",
    ],
    "agency": [
        "Appel à projets économie circulaire",
        "Aide aux travaux d'assainissement non collectif",
        "Aide à l'embauche d'un apprenti",
        "Appel à projets biodiversité",
        "Aide à l'adaptation du logement à la perte d'autonomie",
    ],
    "other": [
        "Adhésion à l'association",
        "Candidature au prix de l'innovation territoriale",
        "Inscription à une formation des élus",
        "Appel à manifestation d'intérêt",
    ],
}


# --------------------------------------------------------------------------------------
# Form fields
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldTemplate:
    """A field a procedure may ask, with what plausible answers to it look like.

    ``low``/``high`` bound numbers; for dates they are days from the dossier's creation.
    """

    type: str
    label: str
    samples: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 0
    required: bool = True

    def options(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": list(self.choices)}
        if self.type == "integer":
            return {"min": self.low}
        if self.type == "decimal":
            return {"min": 0}
        return {}


F = FieldTemplate

PERSONAL_FIELDS = [
    F("date", "Date de naissance", low=-30_000, high=-6_600),
    F("phone", "Téléphone"),
    F("email", "Adresse électronique de contact"),
    F("address", "Adresse postale"),
    F("drop_down", "Situation professionnelle",
      choices=("Salarié", "Demandeur d'emploi", "Étudiant", "Retraité", "Indépendant",
               "Sans activité")),
]  # fmt: skip

REQUEST_FIELDS = [
    F("text", "Nom de l'association",
      samples=("Les Amis du patrimoine", "Comité des fêtes", "Association sportive du collège",
               "Club de l'amitié", "Jardins partagés du centre", "Les Petits Débrouillards")),
    F("text", "Intitulé du projet",
      samples=("Rénovation de la salle des fêtes", "Festival de musique d'été",
               "Ateliers numériques pour les seniors", "Création d'un jardin partagé",
               "Séjour éducatif à la montagne", "Fête de quartier")),
    F("text", "Profession",
      samples=("Infirmière", "Enseignant", "Agriculteur", "Artisan", "Étudiante", "Retraité",
               "Employée de commerce", "Ingénieur")),
    F("textarea", "Description du projet",
      samples=("Nous souhaitons organiser des ateliers hebdomadaires ouverts à tous les "
               "habitants du quartier, animés par des bénévoles.",
               "Le projet vise à rénover le local de l'association pour accueillir davantage "
               "d'enfants le mercredi.",
               "Il s'agit d'une manifestation d'une journée, avec environ 300 participants "
               "attendus et un parcours balisé.")),
    F("textarea", "Motif de la demande",
      samples=("Je viens d'emménager dans la commune avec mes deux enfants.",
               "Ma situation professionnelle a changé depuis ma dernière demande.",
               "Renouvellement de l'autorisation accordée l'an dernier.")),
    F("textarea", "Observations complémentaires", required=False,
      samples=("Aucune.", "Je reste disponible pour tout complément d'information.",
               "Les horaires indiqués sont susceptibles d'évoluer.")),
    F("integer", "Nombre d'enfants à charge", low=0, high=5),
    F("integer", "Nombre de salariés", low=0, high=250),
    F("integer", "Nombre de participants attendus", low=10, high=2_000),
    F("integer", "Surface concernée (m²)", low=20, high=5_000),
    F("decimal", "Montant demandé (€)", low=200, high=50_000),
    F("decimal", "Budget total du projet (€)", low=1_000, high=200_000),
    F("decimal", "Revenu fiscal de référence (€)", low=8_000, high=90_000),
    F("date", "Date de début du projet", low=10, high=240),
    F("date", "Date de l'événement", low=15, high=180),
    F("date", "Date d'arrivée dans la commune", low=-5_000, high=-30),
    F("yes_no", "Êtes-vous allocataire de la CAF ?"),
    F("yes_no", "Le projet a-t-il déjà bénéficié d'une aide publique ?"),
    F("yes_no", "L'établissement reçoit-il du public ?"),
    F("civility", "Civilité du représentant légal"),
    F("drop_down", "Type de demande",
      choices=("Première demande", "Renouvellement", "Modification")),
    F("drop_down", "Niveau d'études",
      choices=("Sans diplôme", "CAP / BEP", "Baccalauréat", "Bac + 2", "Licence", "Master",
               "Doctorat")),
    F("drop_down", "Régime alimentaire",
      choices=("Standard", "Sans porc", "Végétarien", "Sans allergène")),
    F("multiple_drop_down", "Jours de présence",
      choices=("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi")),
    F("multiple_drop_down", "Publics visés",
      choices=("Enfants", "Adolescents", "Familles", "Seniors",
               "Personnes en situation de handicap", "Demandeurs d'emploi")),
    F("multiple_drop_down", "Thématiques du projet",
      choices=("Culture", "Sport", "Environnement", "Numérique", "Solidarité", "Santé")),
    F("siret", "Numéro SIRET de la structure"),
    F("email", "Courriel du référent du projet"),
    F("phone", "Téléphone du référent", required=False),
]  # fmt: skip

DEPARTMENT_FIELD = F("department", "Département concerné")

# No Attachment rows are seeded (files live outside the database), so attachment fields
# are optional and left unanswered.
ATTACHMENT_FIELDS = [
    F("attachment", label, required=False)
    for label in (
        "Pièce d'identité",
        "Justificatif de domicile de moins de trois mois",
        "Relevé d'identité bancaire (RIB)",
        "Devis détaillé",
        "Plan de situation",
        "Statuts de l'association",
        "Attestation d'assurance",
        "Dernier avis d'imposition",
    )
]

SWORN_STATEMENT = F("checkbox", "J'atteste sur l'honneur l'exactitude des informations fournies")


# --------------------------------------------------------------------------------------
# Texts of decisions and messages
# --------------------------------------------------------------------------------------

MOTIVATIONS = {
    Event.accept: [
        "Dossier complet et conforme : avis favorable.",
        "Votre demande est acceptée.",
        "Accord sous réserve de la production des factures acquittées.",
    ],
    Event.refuse: [
        "Le dossier est incomplet : le justificatif demandé n'a pas été fourni malgré "
        "notre relance.",
        "Les conditions d'éligibilité ne sont pas remplies : vos ressources dépassent le "
        "plafond fixé.",
        "La demande a été déposée après la date limite.",
        "Le projet ne relève pas du champ de ce dispositif.",
        "L'enveloppe budgétaire de l'appel à projets est épuisée.",
    ],
    Event.close_without_action: [
        "Le demandeur a renoncé à sa demande.",
        "Doublon d'un dossier déjà déposé.",
        "Sans réponse du demandeur à notre demande de compléments.",
    ],
    Event.reopen: [
        "Réexamen à la suite d'un recours gracieux.",
        "Erreur matérielle lors de la décision.",
    ],
}

CORRECTION_REQUESTS = {
    CorrectionReason.incomplete: "Votre dossier est incomplet : merci d'ajouter le "
    "justificatif de domicile.",
    CorrectionReason.incorrect: "Le montant indiqué ne correspond pas au devis joint : merci "
    "de le corriger.",
    CorrectionReason.outdated: "Le justificatif fourni date de plus de trois mois : merci d'en "
    "joindre un plus récent.",
}

APPLICANT_MESSAGES = [
    "Bonjour, pouvez-vous me dire où en est l'instruction de mon dossier ?",
    "Je vous transmets le document demandé. Cordialement.",
    "Bonjour, j'ai corrigé mon adresse dans le formulaire.",
    "Merci pour votre retour rapide.",
    "Est-il possible de décaler la date indiquée dans ma demande ?",
]

AGENT_MESSAGES = [
    "Bonjour, votre dossier est en cours d'instruction ; nous revenons vers vous rapidement.",
    "Pouvez-vous nous préciser le calendrier prévisionnel de votre projet ?",
    "Nous avons bien reçu votre document, merci.",
    "Votre dossier sera examiné en commission le mois prochain.",
    "Bonjour, merci de nous transmettre un RIB au nom du demandeur.",
]


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def load_seed(
    *,
    administrations: int = 567,
    procedures: int = 350,
    agents: int = 5_000,
    applicants: int = 30_000,
    administrators: int | None = None,
    dossiers: int = 50_000,
) -> str:
    """Load the seed data set in one transaction and return a short report.

    The defaults are the French platform's figures after six months; tests pass smaller
    ones. ``administrators`` defaults to one to three per administration. Nothing is
    changed when the seed is already there.
    """
    started = time.perf_counter()
    if db.session.scalar(sa.select(Administration.id).where(Administration.slug == MARKER_SLUG)):
        return f"Seed data already loaded (administration {MARKER_SLUG} exists): nothing changed."
    if min(administrations, procedures, agents, applicants) < 1 or dossiers < 0:
        raise ValueError("the seed needs at least one administration, procedure, agent, applicant")
    role_ids = _role_ids()
    seed = _Seed(role_ids)
    try:
        seed.run(administrations, procedures, agents, applicants, administrators, dossiers)
        if db.session.get_bind().dialect.name == "postgresql":
            seed.reset_sequences()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    tables.compact_tallies()  # the triggers wrote one tally row per dossier
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return seed.report(time.perf_counter() - started)


def _role_ids() -> dict[str, int]:
    wanted = (Roles.AGENT, Roles.APPLICANT, Roles.ADMINISTRATOR)
    rows = db.session.execute(sa.select(Role.name, Role.id).where(Role.name.in_(wanted)))
    found = {name: role_id for name, role_id in rows}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise SeedError(
            f"Role(s) {', '.join(missing)} missing from ab_role: "
            "run `flask --app app guichet init` first."
        )
    return found


# --------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------


@dataclass
class _Procedure:
    id: int
    revision_id: int
    published_at: datetime
    draft_retention_days: int
    fields: list[tuple[str, FieldTemplate]]  # (stable_id, template), answerable ones only
    group_ids: list[int] = field(default_factory=list)
    routing: tuple[str, str, int] | None = None  # (field stable_id, department code, group)
    default_group_id: int = 0


@dataclass
class _Batch:
    """Rows of a batch of dossiers, written together (children after their dossiers)."""

    dossiers: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    follows: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Person:
    first_name: str
    last_name: str
    civility: str  # "Mme" or "M." as in dossier identities

    @property
    def email_local(self) -> str:
        return f"{_ascii_slug(self.first_name, '')}.{_ascii_slug(self.last_name, '')}"


class _History:
    """A dossier's state and timestamps, moved only through the workflow's own rules.

    ``workflow._stamp`` sets exactly the attributes this class has, so the seeded
    timestamps are those the real workflow would have written.
    """

    def __init__(self, dossier_id: int) -> None:
        self.id = dossier_id
        self.state = S.draft
        self.archived = False
        self.submitted_at: datetime | None = None
        self.review_started_at: datetime | None = None
        self.decided_at: datetime | None = None
        self.motivation: str | None = None
        self.transitions: list[dict[str, Any]] = []

    def apply(
        self, event: Event, at: datetime, actor_id: int | None, motivation: str | None = None
    ) -> None:
        rule = TRANSITIONS[event]
        if self.state not in rule.sources:
            raise AssertionError(f"seed bug: {event} from {self.state}")
        before = self.state
        if rule.target is not None:
            self.state = rule.target
        workflow._stamp(self, event, at, motivation)  # type: ignore[arg-type]
        self.transitions.append(
            {
                "dossier_id": self.id,
                "from_state": before,
                "to_state": self.state,
                "event": event.value,
                "actor_id": actor_id,
                "at": at,
                "motivation": motivation,
                "justification_id": None,
            }
        )

    @property
    def last_at(self) -> datetime | None:
        return self.transitions[-1]["at"] if self.transitions else None


class _Seed:
    """Builds the rows in memory, in an order where every reference already exists,
    and writes them table by table (dossiers and their children a batch at a time)."""

    def __init__(self, role_ids: dict[str, int]) -> None:
        self.rng = random.Random(RANDOM_SEED)
        self.role_ids = role_ids
        self.password = generate_password_hash(SEED_PASSWORD, method="scrypt")
        self.now = utcnow()
        self.start = self.now - SPAN
        self.counts: Counter[str] = Counter()
        self.tables: dict[str, sa.Table] = {}
        self.next_ids: dict[str, int] = {}
        self.logins: dict[str, str] = {}
        self.accounts: Counter[str] = Counter()
        self.people: dict[int, _Person] = {}
        self.families: list[str] = []  # title family of each administration
        self.members_of: dict[int, list[int]] = {}  # group id -> agent ids
        self.procedure_rows: list[dict[str, Any]] = []
        self.revision_rows: list[dict[str, Any]] = []
        self.field_rows: list[dict[str, Any]] = []

    # -- plumbing ------------------------------------------------------------------------

    def new_id(self, table: sa.Table) -> int:
        """The next primary key of ``table``: after its maximum when the load began."""
        if table.name not in self.next_ids:
            current = db.session.scalar(sa.select(sa.func.max(table.c.id)))
            self.next_ids[table.name] = (current or 0) + 1
            self.tables[table.name] = table
        self.next_ids[table.name] += 1
        return self.next_ids[table.name] - 1

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        for offset in range(0, len(rows), BATCH_SIZE):
            db.session.execute(sa.insert(table), rows[offset : offset + BATCH_SIZE])
        self.counts[table.name] += len(rows)

    def reset_sequences(self) -> None:
        """PostgreSQL only: move each id sequence past the ids given here."""
        for name, next_id in self.next_ids.items():
            sequence = db.session.scalar(
                sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": f'"{name}"'}
            )
            declared = self.tables[name].c.id.default
            if sequence is None and isinstance(declared, sa.Sequence):
                sequence = declared.name  # FAB's tables made by create_all, not Alembic
            if sequence is None:
                continue
            db.session.execute(
                sa.text("SELECT setval(CAST(:sequence AS regclass), :value)"),
                {"sequence": sequence, "value": next_id - 1},
            )

    def after(self, at: datetime, low: timedelta, high: timedelta) -> datetime:
        """``at`` plus a log-uniform delay: most steps are quick, a few take long."""
        seconds = math.exp(
            self.rng.uniform(math.log(low.total_seconds()), math.log(high.total_seconds()))
        )
        return at + timedelta(seconds=seconds)

    def between(self, low: datetime, high: datetime) -> datetime:
        return low + (high - low) * self.rng.random()

    def person(self) -> _Person:
        if self.rng.random() < 0.52:
            return _Person(self.rng.choice(FEMALE_FIRST_NAMES), self.rng.choice(LAST_NAMES), "Mme")
        return _Person(self.rng.choice(MALE_FIRST_NAMES), self.rng.choice(LAST_NAMES), "M.")

    # -- the load ------------------------------------------------------------------------

    def run(
        self,
        administrations: int,
        procedures: int,
        agents: int,
        applicants: int,
        administrators: int | None,
        dossiers: int,
    ) -> None:
        self.agent_ids = [self.new_id(User.__table__) for _ in range(agents)]
        self.applicant_ids = [self.new_id(User.__table__) for _ in range(applicants)]
        admin_rows = self.administrations(administrations)
        procs = self.procedures(procedures, admin_rows)
        shares = _zipf_shares(len(procs))
        groups, memberships = self.groups(procs, shares)
        skeletons = self.dossier_skeletons(dossiers, procs, shares)

        # Users first (everything else points at them), created shortly before they act.
        self.users(Roles.AGENT, self.agent_ids, self.agents_first_actions(memberships, groups))
        signed_up: dict[int, datetime] = {}
        for _, owner_id, created in skeletons:  # in creation order: the first one counts
            if owner_id not in signed_up:
                signed_up[owner_id] = created - timedelta(minutes=self.rng.uniform(2, 60))
        self.users(Roles.APPLICANT, self.applicant_ids, signed_up)
        members = self.administration_members(admin_rows, administrators)

        self.insert(Administration.__table__, admin_rows)
        self.insert(AdministrationMember.__table__, members)
        self.write_procedures(procs)
        self.insert(InstructorGroup.__table__, groups)
        self.insert(instructor_group_member, memberships)
        self.dossiers(skeletons, procs)

    # -- administrations -----------------------------------------------------------------

    def administrations(self, count: int) -> list[dict[str, Any]]:
        """Rows of ``count`` administrations, ministries first (they parent the others)."""
        pool = _administration_pool()
        for names in pool.values():
            self.rng.shuffle(names)
        kinds = list(KIND_SHARES)
        picked: list[tuple[AdministrationKind, str, str]] = []
        for _ in range(count):
            kind = self.rng.choices(kinds, weights=list(KIND_SHARES.values()))[0]
            available = [k for k in [kind, *kinds] if pool[k]]
            if available:
                kind = available[0]
                name, family = pool[kind].pop()
            else:  # more administrations than names: number the extra communes
                kind, family = K.local_authority, "commune"
                name = f"Commune nouvelle n° {len(picked) + 1}"
            picked.append((kind, name, family))
        picked.sort(key=lambda item: item[0] != K.ministry)

        rows = []
        ministries: list[int] = []
        for number, (kind, name, family) in enumerate(picked, start=1):
            administration_id = self.new_id(Administration.__table__)
            if kind == K.ministry:
                ministries.append(administration_id)
            parent = (
                self.rng.choice(ministries)
                if kind == K.deconcentrated_service and ministries
                else None
            )
            created = self.start + timedelta(days=self.rng.uniform(-20, 140))
            rows.append(
                {
                    "id": administration_id,
                    "name": name,
                    "slug": f"seed-{number:04d}",
                    "kind": kind,
                    "siret": _siret(self.rng),
                    "parent_id": parent,
                    "contact_email": f"contact@{_ascii_slug(name)[:60].strip('-')}.seed.example",
                    "created_at": created,
                    "disabled_at": None,
                }
            )
            self.families.append(family)
        return rows

    def administration_members(
        self, administrations: list[dict[str, Any]], administrators: int | None
    ) -> list[dict[str, Any]]:
        """Administrators (one to three per administration unless a total is given) and
        their ``administration_member`` rows, which are returned."""
        if administrators is None:
            per_administration = [
                self.rng.choices((1, 2, 3), weights=(6, 3, 1))[0] for _ in administrations
            ]
        else:
            per_administration = [0] * len(administrations)
            for index in range(administrators):
                per_administration[index % len(administrations)] += 1
        user_ids, created, members = [], {}, []
        for administration, how_many in zip(administrations, per_administration, strict=True):
            for _ in range(how_many):
                user_id = self.new_id(User.__table__)
                user_ids.append(user_id)
                created[user_id] = self.after(
                    administration["created_at"], timedelta(hours=1), timedelta(days=3)
                )
                members.append(
                    {
                        "id": self.new_id(AdministrationMember.__table__),
                        "administration_id": administration["id"],
                        "user_id": user_id,
                        "created_at": created[user_id],
                    }
                )
        self.users(Roles.ADMINISTRATOR, user_ids, created)
        return members

    # -- users ---------------------------------------------------------------------------

    def users(self, role: str, user_ids: list[int], created: dict[int, datetime]) -> None:
        """FAB accounts with one role, all sharing the seed's password hash."""
        users, roles = [], []
        domain = EMAIL_DOMAINS[role]
        for number, user_id in enumerate(user_ids, start=1):
            person = self.person()
            email = f"{person.email_local}.{number:05d}@{domain}"
            self.people[user_id] = person
            at = created.get(user_id) or self.between(self.start, self.now)
            naive = at.astimezone(UTC).replace(tzinfo=None)  # FAB's columns are naive
            users.append(
                {
                    "id": user_id,
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "username": email,
                    "password": self.password,
                    "active": True,
                    "email": email,
                    "last_login": None,
                    "login_count": 0,
                    "fail_login_count": 0,
                    "created_on": naive,
                    "changed_on": naive,
                    "created_by_fk": None,
                    "changed_by_fk": None,
                }
            )
            roles.append(
                {
                    "id": self.new_id(assoc_user_role),
                    "user_id": user_id,
                    "role_id": self.role_ids[role],
                }
            )
        if users:
            self.logins.setdefault(role, users[0]["email"])
        self.accounts[role] += len(users)
        self.insert(User.__table__, users)
        self.insert(assoc_user_role, roles)

    # -- procedures ----------------------------------------------------------------------

    def procedures(self, count: int, administrations: list[dict[str, Any]]) -> list[_Procedure]:
        """Procedures, a few administrations owning many; the oldest come first."""
        remaining = {
            index: list(PROCEDURE_TITLES[family]) for index, family in enumerate(self.families)
        }
        for titles in remaining.values():
            self.rng.shuffle(titles)
        order = list(range(len(administrations)))
        self.rng.shuffle(order)
        chosen: list[tuple[int, str]] = []
        while len(chosen) < count:
            # Skewed towards the head of ``order``: most administrations have no procedure.
            index = order[int(len(order) * self.rng.random() ** 2.5)]
            if remaining[index]:
                chosen.append((index, remaining[index].pop()))
            elif not any(remaining.values()):  # every title used: reuse with a year
                for index_, family in enumerate(self.families):
                    remaining[index_] = [f"{t} (campagne 2026)" for t in PROCEDURE_TITLES[family]]

        drafts = []
        for index, title in chosen:
            administration = administrations[index]
            created = self.after(
                administration["created_at"], timedelta(days=1), timedelta(days=40)
            )
            published = self.after(created, timedelta(days=2), timedelta(days=20))
            published = min(published, self.now - timedelta(days=2))
            created = min(created, published - timedelta(days=1))
            drafts.append((index, title, created, published))
        drafts.sort(key=lambda item: item[3])  # the oldest procedures collect most dossiers

        procs = []
        for index, title, created, published in drafts:
            administration = administrations[index]
            procedure_id = self.new_id(Procedure.__table__)
            revision_id = self.new_id(ProcedureRevision.__table__)
            retention_days = self.rng.choice((90, 180, 365))
            self.procedure_rows.append(
                self.procedure_row(
                    procedure_id, administration, title, created, published, retention_days
                )
            )
            self.revision_rows.append(
                {
                    "id": revision_id,
                    "procedure_id": procedure_id,
                    "number": 1,
                    "state": RevisionState.published,
                    "eligibility_rules": [],
                    "created_at": created,
                    "published_at": published,
                }
            )
            procs.append(
                _Procedure(
                    id=procedure_id,
                    revision_id=revision_id,
                    published_at=published,
                    draft_retention_days=retention_days,
                    fields=self.form(revision_id),
                )
            )
        return procs

    def procedure_row(
        self,
        procedure_id: int,
        administration: dict[str, Any],
        title: str,
        created: datetime,
        published: datetime,
        draft_retention_days: int,
    ) -> dict[str, Any]:
        full_title = f"{title} — {administration['name']}"
        deadline = (
            self.now + timedelta(days=self.rng.randint(15, 200))
            if self.rng.random() < 0.15
            else None
        )
        return {
            "id": procedure_id,
            "administration_id": administration["id"],
            "slug": f"{_ascii_slug(title)[:100]}-{procedure_id}",
            "title": full_title[:255],
            "description": f"Déposez en ligne votre dossier : {title[0].lower()}{title[1:]}. "
            "Le service instructeur vous répond par la messagerie du dossier.",
            "audience": "Particuliers, associations et professionnels concernés.",
            "documents_to_prepare": "Pièce d'identité ; justificatif de domicile ; RIB.",
            "service_name": administration["name"],
            "service_email": administration["contact_email"],
            "service_phone": "0" + "".join(str(self.rng.randint(0, 9)) for _ in range(9)),
            "service_hours": "Du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h",
            "state": ProcedureState.published,
            "opens_at": None,
            "deadline_at": deadline,
            "published_at": published,
            "retention_months": self.rng.choice((6, 12, 24, 36)),
            "draft_retention_days": draft_retention_days,
            "declarative_mode": DeclarativeMode.none,
            "filer_kind": FilerKind.person,
            "published_revision_id": None,  # set once the revisions exist
            "created_at": created,
            "updated_at": published,
        }

    def form(self, revision_id: int) -> list[tuple[str, FieldTemplate]]:
        """The field rows of one revision (10 to 25 fields, in three sections).

        Returns the answerable fields with their stable ids, in form order.
        """
        personal = self.rng.sample(PERSONAL_FIELDS, self.rng.randint(2, 4))
        attachments = self.rng.sample(ATTACHMENT_FIELDS, self.rng.randint(1, 3))
        fixed = len(personal) + len(attachments) + 4  # 3 section headers and the checkbox
        total = self.rng.randint(max(10, fixed + 2), 25)
        request_count = total - fixed
        request = self.rng.sample(REQUEST_FIELDS, request_count)
        if self.rng.random() < 0.6:
            request[self.rng.randrange(len(request))] = DEPARTMENT_FIELD
        sections = [
            (F("header_section", "Informations sur le demandeur", required=False), personal),
            (F("header_section", "Votre demande", required=False), request),
            (F("header_section", "Pièces justificatives", required=False), attachments),
        ]
        templates = [item for header, body in sections for item in (header, *body)]
        templates.append(SWORN_STATEMENT)

        answerable = []
        used: set[str] = set()
        for position, template in enumerate(templates):
            stable_id = f"f{self.rng.getrandbits(32):08x}"
            while stable_id in used:
                stable_id = f"f{self.rng.getrandbits(32):08x}"
            used.add(stable_id)
            options = {"level": 1} if template.type == "header_section" else template.options()
            self.field_rows.append(
                {
                    "id": self.new_id(FieldDefinition.__table__),
                    "revision_id": revision_id,
                    "stable_id": stable_id,
                    "type": template.type,
                    "label": template.label,
                    "help": None,
                    "required": template.required,
                    "private": False,
                    "options": options,
                    "condition": SQL_NULL,
                    "parent_id": None,
                    "position": position,
                }
            )
            if template.type not in ("header_section", "attachment"):
                answerable.append((stable_id, template))
        return answerable

    def groups(
        self, procs: list[_Procedure], shares: list[float]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One or two instructor groups per procedure, and their agents.

        A procedure asking for a department may have a second group that its routing rule
        feeds with one department's dossiers. Bigger procedures get more agents.
        """
        rows: list[dict[str, Any]] = []
        weights: list[float] = []
        for proc, share in zip(procs, shares, strict=True):
            proc.default_group_id = self.new_id(InstructorGroup.__table__)
            proc.group_ids = [proc.default_group_id]
            department_field = next(
                (sid for sid, template in proc.fields if template.type == "department"), None
            )
            second = department_field is not None and self.rng.random() < 0.6
            department = self.rng.choice(DEPARTMENTS)
            rows.append(self.group_row(proc, proc.default_group_id, "Instruction", True, None, 0))
            if second:
                group_id = self.new_id(InstructorGroup.__table__)
                proc.group_ids.append(group_id)
                proc.routing = (department_field, department.code, group_id)
                rule = {"field": department_field, "op": "eq", "value": department.code}
                rows.append(
                    self.group_row(proc, group_id, f"Antenne {department.name}", False, rule, 1)
                )
            weights += [share**0.6 / len(proc.group_ids)] * len(proc.group_ids)

        group_ids = [row["id"] for row in rows]
        agents = list(self.agent_ids)
        self.rng.shuffle(agents)
        pairs: set[tuple[int, int]] = set()
        for index, group_id in enumerate(group_ids):  # no group without an agent
            pairs.add((group_id, agents[index % len(agents)]))
        cumulative = list(itertools.accumulate(weights))
        for agent_id in agents[len(group_ids) :]:
            pairs.add((self.rng.choices(group_ids, cum_weights=cumulative)[0], agent_id))
        for agent_id in self.rng.sample(agents, len(agents) // 10):  # some instruct two groups
            pairs.add((self.rng.choice(group_ids), agent_id))
        memberships = [{"group_id": g, "user_id": u} for g, u in sorted(pairs)]
        for group_id, user_id in sorted(pairs):
            self.members_of.setdefault(group_id, []).append(user_id)
        return rows, memberships

    def group_row(
        self,
        proc: _Procedure,
        group_id: int,
        name: str,
        is_default: bool,
        rule: dict[str, Any] | None,
        position: int,
    ) -> dict[str, Any]:
        return {
            "id": group_id,
            "procedure_id": proc.id,
            "name": name,
            "is_default": is_default,
            "routing_rule": SQL_NULL if rule is None else rule,
            "position": position,
            "closed": False,
            "created_at": proc.published_at,
        }

    def agents_first_actions(
        self, memberships: list[dict[str, Any]], groups: list[dict[str, Any]]
    ) -> dict[int, datetime]:
        """When each agent's account was created: shortly before their first procedure."""
        group_published = {group["id"]: group["created_at"] for group in groups}
        created: dict[int, datetime] = {}
        for membership in memberships:
            at = group_published[membership["group_id"]] - timedelta(hours=self.rng.uniform(1, 240))
            user_id = membership["user_id"]
            created[user_id] = min(at, created.get(user_id, at))
        return created

    def write_procedures(self, procs: list[_Procedure]) -> None:
        """Procedures and revisions point at each other: insert, then link."""
        self.insert(Procedure.__table__, self.procedure_rows)
        self.insert(ProcedureRevision.__table__, self.revision_rows)
        procedure = Procedure.__table__
        db.session.execute(
            sa.update(procedure)
            .where(procedure.c.id == sa.bindparam("procedure_id"))
            .values(published_revision_id=sa.bindparam("revision_id")),
            [{"procedure_id": p.id, "revision_id": p.revision_id} for p in procs],
        )
        self.insert(FieldDefinition.__table__, self.field_rows)

    # -- dossiers ------------------------------------------------------------------------

    def dossier_skeletons(
        self, count: int, procs: list[_Procedure], shares: list[float]
    ) -> list[tuple[int, int, datetime]]:
        """(procedure index, owner id, created_at) of every dossier, in creation order.

        More dossiers are recent than old (the platform grows), none before its procedure
        was published.
        """
        cumulative = list(itertools.accumulate(shares))
        indexes = self.rng.choices(range(len(procs)), cum_weights=cumulative, k=count)
        skeletons = []
        for index in indexes:
            published = procs[index].published_at
            created = published + (self.now - published) * self.rng.random() ** 0.6
            skeletons.append((index, self.rng.choice(self.applicant_ids), created))
        skeletons.sort(key=lambda item: item[2])  # dossier numbers grow with time
        return skeletons

    def dossiers(self, skeletons: list[tuple[int, int, datetime]], procs: list[_Procedure]) -> None:
        """Dossiers with their transitions, follows and messages, a batch at a time."""
        for offset in range(0, len(skeletons), BATCH_SIZE):
            batch = _Batch()
            for index, owner_id, created in skeletons[offset : offset + BATCH_SIZE]:
                self.dossier(batch, procs[index], owner_id, created)
            self.insert(Dossier.__table__, batch.dossiers)
            self.insert(StateTransition.__table__, batch.transitions)
            self.insert(Follow.__table__, batch.follows)
            self.insert(Message.__table__, batch.messages)

    def dossier(self, batch: _Batch, proc: _Procedure, owner_id: int, created: datetime) -> None:
        """One dossier and what happened to it, added to ``batch``."""
        rng = self.rng
        owner = self.people[owner_id]
        history = _History(self.new_id(Dossier.__table__))
        answers = self.answers(proc, owner, created)
        messages: list[dict[str, Any]] = []
        group_id = None
        agent_id = None

        submit_at = self.after(created, timedelta(minutes=5), timedelta(days=6))
        if rng.random() < 0.12 or submit_at > self.now:  # an unfinished draft
            keep = rng.randint(0, len(answers))
            answers = dict(itertools.islice(answers.items(), keep))
        else:
            group_id = self.route(proc, answers)
            agent_id = rng.choice(self.members_of[group_id])
            self.walk(history, owner_id, agent_id, submit_at, messages)

        updated = history.last_at or self.after(created, timedelta(minutes=1), timedelta(days=9))
        updated = min(updated, self.now)
        applicant_modified = None
        if history.state == S.submitted and rng.random() < 0.1:
            applicant_modified = self.between(history.submitted_at, self.now)
            updated = max(updated, applicant_modified)
        end = updated if history.state != S.draft else None
        if end and rng.random() < 0.3:
            messages += self.conversation(history, owner_id, agent_id, end)
        for message in messages:
            message["id"] = self.new_id(Message.__table__)
            message["dossier_id"] = history.id
        for transition in history.transitions:
            transition["id"] = self.new_id(StateTransition.__table__)
        batch.transitions += history.transitions
        batch.messages += messages
        batch.follows += self.follows(history, group_id, agent_id, messages)
        batch.dossiers.append(
            {
                "id": history.id,
                "procedure_id": proc.id,
                "revision_id": proc.revision_id,
                "owner_id": owner_id,
                "group_id": group_id,
                "state": history.state,
                "identity": {
                    "kind": "person",
                    "civility": owner.civility,
                    "first_name": owner.first_name,
                    "last_name": owner.last_name,
                },
                "on_behalf_of": SQL_NULL,
                "answers": answers,
                "annotations": {},
                "is_test": False,
                "archived": history.archived,
                "created_at": created,
                "updated_at": updated,
                "submitted_at": history.submitted_at,
                "review_started_at": history.review_started_at,
                "decided_at": history.decided_at,
                "applicant_modified_at": applicant_modified,
                "motivation": history.motivation,
                # As the demo does: a draft expires after the procedure's draft retention;
                # submitting clears it (the retention service owns decided dossiers).
                "expires_at": (
                    created + timedelta(days=proc.draft_retention_days)
                    if history.state == S.draft
                    else None
                ),
                "retention_extensions": 0,
                "version": 1 + len(history.transitions),
            }
        )

    def route(self, proc: _Procedure, answers: dict[str, Any]) -> int:
        """The group a submitted dossier goes to: the routing rule's, else the default."""
        if proc.routing:
            field_id, department, group_id = proc.routing
            if answers.get(field_id) == department:
                return group_id
        return proc.default_group_id

    def walk(
        self,
        history: _History,
        owner_id: int,
        agent_id: int,
        at: datetime,
        messages: list[dict[str, Any]],
    ) -> None:
        """Move a dossier along a plausible path, stopping at the first step after now."""
        rng, now = self.rng, self.now
        history.apply(Event.submit, at, owner_id)
        at = self.after(at, timedelta(hours=2), timedelta(days=25))
        if at > now:
            return
        history.apply(Event.start_review, at, agent_id)
        if rng.random() < 0.08:  # a correction request sends it back to the applicant
            at = self.after(at, timedelta(hours=1), timedelta(days=6))
            if at > now:
                return
            reason = rng.choice(list(CorrectionReason))
            history.apply(Event.back_to_applicant, at, agent_id)
            resubmitted = self.after(at, timedelta(hours=3), timedelta(days=10))
            messages.append(
                _message(agent_id, AuthorKind.agent, CORRECTION_REQUESTS[reason], at, reason)
            )
            if resubmitted > now:
                return
            messages[-1]["correction_resolved_at"] = resubmitted
            messages.append(
                _message(owner_id, AuthorKind.applicant, APPLICANT_MESSAGES[1], resubmitted)
            )
            at = self.after(resubmitted, timedelta(hours=1), timedelta(days=5))
            if at > now:
                return
            history.apply(Event.start_review, at, agent_id)
        if not self.decide(history, agent_id, at):
            return
        at = history.last_at
        if rng.random() < 0.03:
            at = self.after(at, timedelta(days=1), timedelta(days=20))
            if at > now:
                return
            history.apply(Event.reopen, at, agent_id, rng.choice(MOTIVATIONS[Event.reopen]))
            if not self.decide(history, agent_id, at):
                return
            at = history.last_at
        if rng.random() < 0.15:
            at = self.after(at, timedelta(days=7), timedelta(days=60))
            if at <= now:
                history.apply(Event.archive, at, agent_id)

    def decide(self, history: _History, agent_id: int, at: datetime) -> bool:
        at = self.after(at, timedelta(days=1), timedelta(days=45))
        if at > self.now:
            return False
        event = self.rng.choices(
            (Event.accept, Event.refuse, Event.close_without_action), weights=(72, 16, 12)
        )[0]
        needs_motivation = event != Event.accept or self.rng.random() < 0.4
        motivation = self.rng.choice(MOTIVATIONS[event]) if needs_motivation else None
        history.apply(event, at, agent_id, motivation)
        return True

    def conversation(
        self, history: _History, owner_id: int, agent_id: int | None, end: datetime
    ) -> list[dict[str, Any]]:
        """One to four messages between submission and the dossier's last change."""
        count = self.rng.randint(1, 4)
        moments = sorted(self.between(history.submitted_at, end) for _ in range(count))
        applicant_first = self.rng.random() < 0.5
        messages = []
        for turn, at in enumerate(moments):
            if (turn % 2 == 0) == applicant_first or agent_id is None:
                body = self.rng.choice(APPLICANT_MESSAGES)
                messages.append(_message(owner_id, AuthorKind.applicant, body, at))
            else:
                body = self.rng.choice(AGENT_MESSAGES)
                messages.append(_message(agent_id, AuthorKind.agent, body, at))
        return messages

    def follows(
        self,
        history: _History,
        group_id: int | None,
        agent_id: int | None,
        messages: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Agents who follow the dossier: usually the one who started its review."""
        started = next(
            (t["at"] for t in history.transitions if t["event"] == Event.start_review), None
        )
        if started is None or group_id is None or agent_id is None:
            return []
        followers = []
        if self.rng.random() < 0.75:
            followers.append(agent_id)
        colleagues = [a for a in self.members_of[group_id] if a != agent_id]
        if colleagues and self.rng.random() < 0.1:
            followers.append(self.rng.choice(colleagues))
        last_message = max((m["created_at"] for m in messages), default=None)
        return [
            {
                "id": self.new_id(Follow.__table__),
                "dossier_id": history.id,
                "user_id": user_id,
                "created_at": started,
                "messages_seen_at": last_message if self.rng.random() < 0.7 else None,
            }
            for user_id in followers
        ]

    def answers(self, proc: _Procedure, owner: _Person, created: datetime) -> dict[str, Any]:
        """A complete set of typed answers, keyed by stable id, in form order."""
        rng = self.rng
        answers: dict[str, Any] = {}
        for stable_id, template in proc.fields:
            kind = template.type
            if not template.required and rng.random() < 0.4:
                continue
            if kind in ("text", "textarea"):
                value: Any = rng.choice(template.samples)
            elif kind == "email":
                value = f"{owner.email_local}@{rng.choice(EMAIL_PROVIDERS)}"
            elif kind == "phone":
                value = f"+33{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
            elif kind == "integer":
                value = rng.randint(template.low, template.high)
            elif kind == "decimal":
                value = round(rng.uniform(template.low, template.high), 2)
            elif kind == "date":
                day = created.date() + timedelta(days=rng.randint(template.low, template.high))
                value = day.isoformat()
            elif kind == "checkbox":
                value = True
            elif kind == "yes_no":
                value = rng.random() < 0.5
            elif kind == "civility":
                value = rng.choice(("Mme", "M."))
            elif kind == "drop_down":
                value = rng.choice(template.choices)
            elif kind == "multiple_drop_down":
                picked = set(rng.sample(template.choices, rng.randint(1, 3)))
                value = [choice for choice in template.choices if choice in picked]
            elif kind == "address":
                value = _address(rng)
            elif kind == "department":
                routed = proc.routing and rng.random() < 0.35
                value = proc.routing[1] if routed else rng.choice(DEPARTMENTS).code
            elif kind == "siret":
                value = _siret(rng)
            else:  # a template type without a generator is a bug of this module
                raise AssertionError(f"no answer generator for {kind}")
            answers[stable_id] = value
        return answers

    # -- report --------------------------------------------------------------------------

    def report(self, seconds: float) -> str:
        c = self.counts
        lines = [
            f"Seed loaded in {seconds:.1f} s:",
            f"  {c['administration']:,} administrations, {c['administration_member']:,} "
            "administrator memberships",
            f"  {c['procedure']:,} published procedures, {c['field_definition']:,} fields, "
            f"{c['instructor_group']:,} instructor groups "
            f"({c['instructor_group_member']:,} memberships)",
            f"  {self.accounts[Roles.AGENT]:,} agents, {self.accounts[Roles.APPLICANT]:,} "
            f"applicants, {self.accounts[Roles.ADMINISTRATOR]:,} administrators",
            f"  {c['dossier']:,} dossiers, {c['state_transition']:,} transitions, "
            f"{c['follow']:,} follows, {c['message']:,} messages",
            f"Every seeded account's password is {SEED_PASSWORD!r}, for example:",
        ]
        lines += [f"  {role:<14} {email}" for role, email in self.logins.items()]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _zipf_shares(count: int) -> list[float]:
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, count + 1)]
    total = sum(weights)
    return [weight / total for weight in weights]


def _message(
    author_id: int | None,
    author_kind: AuthorKind,
    body: str,
    at: datetime,
    correction_reason: CorrectionReason | None = None,
) -> dict[str, Any]:
    return {
        "author_id": author_id,
        "author_kind": author_kind,
        "body": body,
        "created_at": at,
        "deleted_at": None,
        "correction_reason": correction_reason,
        "correction_resolved_at": None,
    }


def _address(rng: random.Random) -> dict[str, str]:
    city = rng.choice(CITIES)
    number = rng.randint(1, 150)
    return {
        "street": f"{number}{' bis' if rng.random() < 0.05 else ''} {rng.choice(STREETS)}",
        "postcode": city.postcode,
        "city": city.name,
        "insee_code": city.insee,
        "country": "FR",
    }


def _siret(rng: random.Random) -> str:
    """Fourteen digits passing the Luhn check, as a real SIRET does."""
    digits = [rng.randint(0, 9) for _ in range(13)]
    for check in range(10):
        if _luhn_valid([*digits, check]):
            return "".join(map(str, [*digits, check]))
    raise AssertionError("unreachable: one check digit always fits")


def _luhn_valid(digits: Iterable[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(list(digits))):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _ascii_slug(text: str, separator: str = "-") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text.lower()).strip("-")
