from datetime import date

from django.core.management.base import BaseCommand

from demo.generate import DEFAULT_PROVINCE, GenerationRefused, generate_registry


class Command(BaseCommand):
    help = (
        "Generate a synthetic province registry of N households from a seed, loaded with COPY "
        "(refuses when households exist; exits 2)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, required=True, help="Number of households.")
        parser.add_argument("--seed", type=int, default=2014, help="Random seed (same seed, same registry).")
        parser.add_argument("--province", default=DEFAULT_PROVINCE, help="12-digit province code.")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="Day ages and schooling are judged on (default today).",
        )
        parser.add_argument("--force", action="store_true", help="Generate even with production settings.")

    def handle(self, *args, households, seed, province, as_of, force, **options):
        try:
            summary = generate_registry(
                households=households,
                seed=seed,
                province_code=province,
                as_of=as_of,
                force=force,
                progress=lambda line: self.stdout.write(line) if options["verbosity"] > 1 else None,
            )
        except GenerationRefused as refusal:
            self.stderr.write(str(refusal))
            raise SystemExit(2) from refusal
        self.stdout.write(f"generated in {summary['total_seconds']} s (load {summary['load_seconds']} s):")
        self.stdout.write("  phases: " + ", ".join(f"{k} {v} s" for k, v in summary["phases"].items()))
        for key, count in summary["counts"].items():
            seconds = summary["seconds"][key]
            rate = f"{count / seconds:,.0f} rows/s" if seconds else "-"
            self.stdout.write(f"  {key:<15} {count:>10,} rows  COPY {seconds:>7.2f} s  {rate}")
