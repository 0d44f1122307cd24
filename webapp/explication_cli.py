"""`caleol explication NUMERO_UNIQUE [--decision ID] [--pdf FICHIER] [--html FICHIER]`.

Generates the explanation of the algorithm (CRPA R311-3-1-2) for communication to the applicant: the
document is recorded with its digest and one audit entry (acteur « cli:explication »), in one
transaction. Without --pdf or --html, the HTML goes to standard output. Bad input ends with exit
code 2 and a French message, never a traceback.
"""
from __future__ import annotations

from pathlib import Path

import click

pass_contexte = click.pass_obj


@click.command("explication")
@click.argument("numero_unique")
@click.option("--decision", "decision_id", type=click.IntRange(min=1), default=None,
              help="Identifiant d'une décision de la commission sur cette demande.")
@click.option("--pdf", "fichier_pdf", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Écrit le document PDF dans ce fichier.")
@click.option("--html", "fichier_html", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Écrit le document HTML dans ce fichier.")
@pass_contexte
def explication(contexte, numero_unique: str, decision_id: int | None, fichier_pdf: Path | None, fichier_html: Path | None) -> None:
    """Explication de l'algorithme pour un demandeur (CRPA, art. R311-3-1-2), enregistrée et journalisée."""
    from .cli import erreur
    from .services import explication as svc

    try:
        with contexte.transaction() as session:
            x, ligne = svc.communiquer(session, numero_unique.strip(), decision_id, acteur="cli:explication")
            html = svc.explication_html(x)
            pdf = svc.en_pdf(html) if fichier_pdf is not None else None
            numero = ligne.id
    except svc.ErreurExplication as exc:
        erreur(str(exc))
        return
    try:
        if fichier_html is not None:
            fichier_html.write_text(html, encoding="utf-8")
        if fichier_pdf is not None and pdf is not None:
            fichier_pdf.write_bytes(pdf)
    except OSError as exc:
        erreur(f"écriture impossible : {exc.strerror} ({exc.filename}) ; le document n° {numero} est enregistré.")
    if fichier_html is None and fichier_pdf is None:
        click.echo(html, nl=False)
    else:
        for chemin in (fichier_html, fichier_pdf):
            if chemin is not None:
                click.echo(f"Écrit : {chemin}", err=True)
    click.echo(f"Document n° {numero} — version des règles {x.version_regles} — empreinte sha256:{x.empreinte}", err=True)
