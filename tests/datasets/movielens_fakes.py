"""Tiny fake MovieLens releases in GroupLens's own formats (used by the fixtures in conftest)."""

import zipfile
from pathlib import Path

ML100K_DATA = [
    (196, 242, 3, 881250949),
    (186, 302, 3, 891717742),
    (22, 377, 1, 878887116),
    (196, 302, 5, 881250950),
]
ML100K_GENRE = (
    "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n"
    "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n"
    "Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"
)


def _flags(*on):
    return "|".join("1" if k in on else "0" for k in range(19))


ML100K_ITEM = (
    f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|{_flags(5)}\n"
    f"302|L.A. Confidential (1997)|01-Jan-1997||http://x|{_flags(6, 10, 13, 16)}\n"
    f"377|Heavyweights (1994)|01-Jan-1994||http://x|{_flags(4, 5)}\n"
    f"267|unknown||||{_flags(0)}\n"
    f"1536|Aiqing wansui (1994)|22-Jul-1996||http://x|{_flags(8)}\n"
    f"999|Caf\u00e9 au lait|01-Jan-1993||http://x|{_flags(5, 14)}\n"
)
ML100K_USER = "196|49|M|writer|55105\n186|39|F|executive|00000\n22|25|M|writer|40206\n"

ML1M_RATINGS = [(1, 1193, 5, 978300760), (1, 661, 3, 978302109), (2, 1193, 4, 978298413)]
ML1M_MOVIES = (
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
    "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
    "3000::Ast\u00e9rix: Mission Cl\u00e9op\u00e2tre (2002)::Comedy\n"
)
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n"

LATEST_RATINGS = [(1, 1, 4.0, 964982703), (1, 3, 3.5, 964981247), (2, 1, 0.5, 1445714835)]
LATEST_MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '3,"American President, The (1995)",Comedy|Drama|Romance\n'
    "7,Some Series (2006\u20132007),(no genres listed)\n"
)


def write_movielens(root: Path, name: str) -> Path:
    """Writes ``root/<name>/`` with the fake files of that release and returns the folder."""
    folder = root / name
    folder.mkdir(parents=True)
    if name == "ml-100k":
        lines = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ML100K_DATA)
        (folder / "u.data").write_text(lines)
        (folder / "u.item").write_bytes(ML100K_ITEM.encode("latin-1"))
        (folder / "u.genre").write_text(ML100K_GENRE)
        (folder / "u.user").write_text(ML100K_USER)
        (folder / "README").write_text("fake")
    elif name == "ml-1m":
        lines = "".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in ML1M_RATINGS)
        (folder / "ratings.dat").write_text(lines)
        (folder / "movies.dat").write_bytes(ML1M_MOVIES.encode("latin-1"))
        (folder / "users.dat").write_text(ML1M_USERS)
    elif name == "ml-latest-small":
        rows = "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in LATEST_RATINGS)
        (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + rows)
        (folder / "movies.csv").write_text(LATEST_MOVIES, encoding="utf-8")
    else:
        raise ValueError(name)
    return folder


def zip_folder(folder: Path, dest: Path) -> Path:
    """Zips ``folder`` with its name as the archive's top folder, like GroupLens does."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{folder.name}/", "")
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    return dest
