"""The walk behind version_regles() (called on every API response) lists exactly fichiers_versionnes()."""
from __future__ import annotations

import hashlib
import os
import shutil

from engine import version as v


def _version_par_pathlib(racine) -> str:
    h = hashlib.sha256()
    h.update(f"caleol-engine {v.__version__}\n".encode())
    for p in v.fichiers_versionnes(racine):
        h.update(f"{v._relatif(p, racine.resolve().parent)}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return f"{v.__version__}-{h.hexdigest()[:12]}"


def test_le_parcours_rend_les_fichiers_versionnes_dans_le_meme_ordre(tmp_path):
    copie = tmp_path / "rules"
    shutil.copytree(v.DOSSIER_REGLES, copie)
    # Names whose order differs between plain strings and pathlib ("a-b" < "a/…" as text, not as parts),
    # a hidden file, documentation and a symbolic link to a directory (rglob does not follow it).
    (copie / "a").mkdir()
    (copie / "a" / "z.yaml").write_text("x: 1\n")
    (copie / "a-b.yaml").write_text("y: 2\n")
    (copie / "a" / ".cache.yaml").write_text("z: 3\n")
    (copie / "a" / "LISEZMOI.md").write_text("doc\n")
    os.symlink(copie / "a", copie / "lien")
    attendu = [str(p) for p in v.fichiers_versionnes(copie)]
    assert [p for p, _, _ in v._etat_fichiers(copie)] == attendu
    assert attendu.index(str(copie / "a" / "z.yaml")) < attendu.index(str(copie / "a-b.yaml"))
    assert v.version_regles(copie) == _version_par_pathlib(copie)
    (copie / "a-b.yaml").write_text("y: 30\n")
    assert v.version_regles(copie) == _version_par_pathlib(copie)
    assert [p for p, _, _ in v._etat_fichiers(v.DOSSIER_REGLES)] == [str(p) for p in v.fichiers_versionnes()]
