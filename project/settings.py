"""Settings for the platform, read from the environment.

The defaults give a working single-machine setup: SQLite under var/, the
built-in ``local`` scheduler and a Redis at REDIS_URL. A cluster deployment
sets DATABASE_URL, REDIS_URL and SCHEDULER_BACKEND=slurm.
"""

import secrets
from pathlib import Path

import dj_database_url

from django.core.exceptions import ImproperlyConfigured

from apps.core.ratelimit import RateLimitPolicy

from .env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key():
    """Return a per-checkout secret key kept in var/, created on first use."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.code_app",
    "apps.writer_app",
    "apps.scholar_app",
    "apps.vis_app",
    "apps.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the poller and the workers write to the same file, so
    # writers take the lock up front and wait for each other instead of
    # failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file rather than memory, so a Celery worker or Daphne started by a
    # test opens the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Redis, channel layer, Celery -------------------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Keys and channel names of one deployment start with this prefix, so two
# deployments (or a test run) can share one Redis server.
REDIS_PREFIX = env_str("REDIS_PREFIX", "fairshare")

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer delivers at most once and keeps no per-process
        # buffer to overflow; pages heal gaps with the snapshot sent on
        # (re)connect.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL}],
            "prefix": f"{REDIS_PREFIX}:asgi",
        },
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "ai_queue"
CELERY_TASK_QUEUES_NAMES = ["ai_queue", "search_queue", "compute_queue", "vis_queue"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 4, minimum=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:celery:",
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "record-worker-heartbeat": {
        "task": "apps.core.tasks.record_heartbeat",
        "schedule": 30.0,
    },
}
CELERY_TASK_ROUTES = {
    "apps.core.tasks.record_heartbeat": {"queue": "compute_queue"},
}

# --- Compute tier -----------------------------------------------------------

SCHEDULER_BACKEND = env_choice("SCHEDULER_BACKEND", "local", {"local", "slurm"})
WORKSPACE_ROOT = Path(env_str("WORKSPACE_ROOT", str(VAR_DIR / "workspaces")))
# Slurm pushes job starts and final states through its hooks into a Redis
# stream (deployment/slurm/hooks); the poller then only repairs what push
# missed, so it can poll less often.
SLURM_PUSH = env_bool("SLURM_PUSH", False)
POLLER_INTERVAL = env_float("POLLER_INTERVAL", 15.0 if SLURM_PUSH else 1.0, minimum=0.1)
# Jobs that the local scheduler runs at once on this host, all users together.
# The local scheduler's own files (runner pids, final states), outside the workspaces.
LOCAL_SCHEDULER_STATE_DIR = Path(env_str("LOCAL_SCHEDULER_STATE_DIR", str(VAR_DIR / "local-scheduler")))
LOCAL_SCHEDULER_SLOTS = env_int("LOCAL_SCHEDULER_SLOTS", 4, minimum=1)
# Seconds between SIGTERM and SIGKILL when a job is cancelled or times out.
LOCAL_SCHEDULER_KILL_WAIT = env_float("LOCAL_SCHEDULER_KILL_WAIT", 5.0, minimum=0.0)
# Slurm backend (SCHEDULER_BACKEND=slurm).
SLURM_BIN_DIR = env_str("SLURM_BIN_DIR", "")
SLURM_COMMAND_TIMEOUT = env_float("SLURM_COMMAND_TIMEOUT", 30.0, minimum=1.0)
# The Slurm account under which each platform user's account u_<id> is created.
SLURM_PARENT_ACCOUNT = env_str("SLURM_PARENT_ACCOUNT", "platform")
# The Unix user jobs run as when the platform runs as root (sbatch --uid/--gid);
# empty means the platform's own user.
SLURM_SUBMIT_AS = env_str("SLURM_SUBMIT_AS", "")
# apptainer or singularity run each job in SLURM_CONTAINER_IMAGE; none runs it
# on the node directly with a clean environment, for machines without one.
SLURM_CONTAINER_RUNTIME = env_choice("SLURM_CONTAINER_RUNTIME", "apptainer", {"apptainer", "singularity", "none"})
SLURM_CONTAINER_IMAGE = env_str("SLURM_CONTAINER_IMAGE", "/opt/containers/workspace.sif")
SCRIPT_UPLOAD_MAX_BYTES = env_int("SCRIPT_UPLOAD_MAX_BYTES", 1024 * 1024, minimum=1024)
JOB_OUTPUT_TAIL_MAX_LINES = 1000

# Partitions and their maximum time limit in minutes.
PARTITIONS = {
    "normal": env_int("PARTITION_NORMAL_MAX_MINUTES", 24 * 60, minimum=1),
    "express": env_int("PARTITION_EXPRESS_MAX_MINUTES", 60, minimum=1),
    "long": env_int("PARTITION_LONG_MAX_MINUTES", 7 * 24 * 60, minimum=1),
}
DEFAULT_PARTITION = "normal"

JOB_LIMITS = {
    "max_running": env_int("JOB_MAX_RUNNING_PER_USER", 10, minimum=1),
    "max_submitted": env_int("JOB_MAX_SUBMITTED_PER_USER", 20, minimum=1),
    "min_cpus": 1,
    "max_cpus": env_int("JOB_MAX_CPUS", 16, minimum=1),
    "min_memory_gb": 1,
    "max_memory_gb": env_int("JOB_MAX_MEMORY_GB", 24, minimum=1),
    "min_time_minutes": 1,
    "max_time_minutes": env_int("JOB_MAX_TIME_MINUTES", 7 * 24 * 60, minimum=1),
}

# --- Rate limits --------------------------------------------------------------

# One table of per-user rate limits. Each rate is "N/sec|min|hour|day" and may
# be overridden from the environment (RATE_LIMIT_<KIND> and
# RATE_LIMIT_<KIND>_BURST) and per user in the database (QuotaOverride).
# "anon" is counted per client IP address, the others per user.
def _rate_limit(kind, label, rate, burst=None):
    variable = f"RATE_LIMIT_{kind.upper()}"
    text = env_str(variable, rate)
    try:
        RateLimitPolicy.parse(text, burst=env_int(f"{variable}_BURST", burst, minimum=1))
    except ValueError as exc:
        raise ImproperlyConfigured(f"Environment variable {variable}: {exc}") from None
    return {"label": label, "rate": text, "burst": env_int(f"{variable}_BURST", burst, minimum=1)}


RATE_LIMITS = {
    "ai_suggest": _rate_limit("ai_suggest", "AI suggestions", "10/min", burst=5),
    "ai_generate": _rate_limit("ai_generate", "AI generation", "5/min"),
    "paper_search": _rate_limit("paper_search", "Paper searches", "30/min"),
    "pdf_process": _rate_limit("pdf_process", "PDF processing", "20/min"),
    "api": _rate_limit("api", "API requests", "1000/day"),
    "anon": _rate_limit("anon", "Anonymous requests per IP", "100/day"),
}

# Per task type, for all users together: a cap that protects a paid external
# API or a shared service. It is set well above one user's own rate, so that
# one user using all of their quota does not hold back the others; per-user
# fairness comes from RATE_LIMITS. Celery's own rate_limit holds per worker
# process only, so the same limits are also enforced for all workers
# together through the Redis limiter.
TASK_RATE_LIMITS = {
    "apps.writer_app.tasks.ai_suggest": env_str("TASK_RATE_LIMIT_AI_SUGGEST", "120/m"),
    "apps.writer_app.tasks.ai_generate": env_str("TASK_RATE_LIMIT_AI_GENERATE", "60/m"),
    "apps.scholar_app.tasks.search_papers": env_str("TASK_RATE_LIMIT_SEARCH_PAPERS", "300/m"),
    "apps.scholar_app.tasks.process_pdf": env_str("TASK_RATE_LIMIT_PROCESS_PDF", "200/m"),
}
for _task_name, _rate in TASK_RATE_LIMITS.items():
    try:
        RateLimitPolicy.parse(_rate)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Task rate limit of {_task_name}: {exc}") from None
CELERY_TASK_ANNOTATIONS = {name: {"rate_limit": rate} for name, rate in TASK_RATE_LIMITS.items()}
CELERY_TASK_ROUTES.update(
    {
        "apps.writer_app.tasks.*": {"queue": "ai_queue"},
        "apps.scholar_app.tasks.*": {"queue": "search_queue"},
        "apps.code_app.tasks.*": {"queue": "compute_queue"},
        "apps.vis_app.tasks.*": {"queue": "vis_queue"},
    }
)

# Sign-in attempts per client IP address, to slow down password guessing.
LOGIN_RATE_LIMIT = env_str("LOGIN_RATE_LIMIT", "10/min")
try:
    RateLimitPolicy.parse(LOGIN_RATE_LIMIT)
except ValueError as exc:
    raise ImproperlyConfigured(f"Environment variable LOGIN_RATE_LIMIT: {exc}") from None

# Client IPs come from X-Forwarded-For only through this many trusted proxies
# in front of Daphne; 0 means the socket's peer address is the client.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)

# --- REST API ---------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate
    # header rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.ObjectJSONParser",
        "apps.core.parsers.FormParser",
        "apps.core.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttles.UserRateThrottle",
        "apps.core.throttles.AnonRateThrottle",
    ],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# --- Logging ----------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "apps": {"level": LOG_LEVEL},
        "django": {"level": "INFO"},
    },
}

# Interpreter for Python job scripts on the local scheduler.
JOB_PYTHON = env_str("JOB_PYTHON", "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3")

# Batches of this many items or more (PDFs, figure exports) become one
# compute job instead of that many Celery tasks.
COMPUTE_BATCH_THRESHOLD = env_int("COMPUTE_BATCH_THRESHOLD", 100, minimum=2)

# --- Async I/O tier: writer, scholar and vis ---------------------------------

# AI provider of the writer's suggestions and generation. "offline" calls no
# service and labels its rule-based output as offline; "anthropic" (Messages
# API) and "openai" (Chat Completions API) need AI_API_KEY. An empty
# AI_MODEL or AI_BASE_URL means the provider's default.
AI_PROVIDER = env_choice("AI_PROVIDER", "offline", {"offline", "anthropic", "openai"})
AI_API_KEY = env_str("AI_API_KEY", "")
AI_MODEL = env_str("AI_MODEL", "")
AI_BASE_URL = env_str("AI_BASE_URL", "")
AI_TIMEOUT = env_float("AI_TIMEOUT", 30.0, minimum=1.0)
AI_MAX_TOKENS = env_int("AI_MAX_TOKENS", 1024, minimum=16, maximum=32768)
if AI_PROVIDER != "offline" and not AI_API_KEY:
    raise ImproperlyConfigured(
        f"Environment variable AI_API_KEY is missing; AI_PROVIDER={AI_PROVIDER} needs it, "
        "or set AI_PROVIDER=offline."
    )

# Paper search: "offline" searches the data set shipped in apps/scholar_app;
# "arxiv" and "pubmed" call those services. Metadata by DOI: "offline" looks
# the DOI up in the same data set, "crossref" queries Crossref.
SCHOLAR_PROVIDER = env_choice("SCHOLAR_PROVIDER", "offline", {"offline", "arxiv", "pubmed"})
METADATA_PROVIDER = env_choice("METADATA_PROVIDER", "offline", {"offline", "crossref"})
ARXIV_BASE_URL = env_str("ARXIV_BASE_URL", "http://export.arxiv.org/api/query")
PUBMED_BASE_URL = env_str("PUBMED_BASE_URL", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils")
CROSSREF_BASE_URL = env_str("CROSSREF_BASE_URL", "https://api.crossref.org")
# Sent to Crossref and NCBI, which ask clients for a contact address.
SCHOLAR_CONTACT_EMAIL = env_str("SCHOLAR_CONTACT_EMAIL", "")
NCBI_API_KEY = env_str("NCBI_API_KEY", "")
SCHOLAR_TIMEOUT = env_float("SCHOLAR_TIMEOUT", 20.0, minimum=1.0)

# Retries of external APIs that return 429 or 5xx or cannot be reached: the
# wait is their Retry-After when given, else EXTERNAL_RETRY_BASE_DELAY
# doubled per retry, and never more than EXTERNAL_RETRY_MAX_DELAY seconds.
EXTERNAL_MAX_RETRIES = env_int("EXTERNAL_MAX_RETRIES", 3, minimum=0, maximum=20)
EXTERNAL_RETRY_BASE_DELAY = env_float("EXTERNAL_RETRY_BASE_DELAY", 2.0, minimum=0.0)
EXTERNAL_RETRY_MAX_DELAY = env_float("EXTERNAL_RETRY_MAX_DELAY", 300.0, minimum=1.0)

# LaTeX compiles: seconds allowed to latexmk (or pdflatex), and the largest
# source accepted, in characters.
LATEX_TIMEOUT = env_int("LATEX_TIMEOUT", 60, minimum=5, maximum=3600)
LATEX_MAX_SOURCE_CHARS = env_int("LATEX_MAX_SOURCE_CHARS", 200_000, minimum=1000)

# A batch of 100 PDFs posted in one request is at least 100 files; Django
# rejects more than DATA_UPLOAD_MAX_NUMBER_FILES files per request.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UPLOAD_MAX_FILES", 1000, minimum=COMPUTE_BATCH_THRESHOLD)
PDF_UPLOAD_MAX_BYTES = env_int("PDF_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)

RATE_LIMITS.update(
    {
        "latex_compile": _rate_limit("latex_compile", "LaTeX compiles", "10/min"),
        "metadata": _rate_limit("metadata", "Metadata look-ups", "30/min"),
        "figure_export": _rate_limit("figure_export", "Figure exports", "20/min"),
    }
)
_IO_TASK_RATE_LIMITS = {
    "apps.writer_app.tasks.compile_latex": env_str("TASK_RATE_LIMIT_COMPILE_LATEX", "30/m"),
    "apps.scholar_app.tasks.fetch_metadata": env_str("TASK_RATE_LIMIT_FETCH_METADATA", "60/m"),
    "apps.vis_app.tasks.export_figure": env_str("TASK_RATE_LIMIT_EXPORT_FIGURE", "60/m"),
}
for _task_name, _rate in _IO_TASK_RATE_LIMITS.items():
    try:
        RateLimitPolicy.parse(_rate)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Task rate limit of {_task_name}: {exc}") from None
TASK_RATE_LIMITS.update(_IO_TASK_RATE_LIMITS)
CELERY_TASK_ANNOTATIONS.update({name: {"rate_limit": rate} for name, rate in _IO_TASK_RATE_LIMITS.items()})

# --- Operations: fairness console, health, API schema, logs ------------------

# Seconds between pushes of the fairness console's figures. The beat task runs
# this often but builds the figures only while a console is open.
CONSOLE_REFRESH_SECONDS = env_float("CONSOLE_REFRESH_SECONDS", 5.0, minimum=1.0)
CELERY_BEAT_SCHEDULE["refresh-console"] = {
    "task": "apps.core.tasks.refresh_console",
    "schedule": CONSOLE_REFRESH_SECONDS,
    # A refresh still queued after one interval is dropped; the next one replaces it.
    "options": {"expires": CONSOLE_REFRESH_SECONDS},
}
CELERY_TASK_ROUTES["apps.core.tasks.refresh_console"] = {"queue": "compute_queue"}

# The OpenAPI schema of the REST API at /api/schema/, browsable at /api/docs/
# (Swagger UI) and /api/redoc/, with their assets served from this host.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "Research platform API",
    "DESCRIPTION": (
        "Jobs on the compute tier, async tasks (AI, paper search, PDFs, figures) and quotas. "
        "Authenticate with `Authorization: Token <key>` or a session with its CSRF token. "
        "Every error is JSON with a machine-readable `error` code and a `detail` sentence."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "apps.code_app.models.JobState",
        "TaskStateEnum": "apps.core.models.TaskState",
    },
}

# LOG_FORMAT=json writes one JSON object per line for log collectors; plain
# is easier for people to read.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", {"plain", "json"})
LOGGING["formatters"]["json"] = {"()": "apps.core.log_format.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
# Celery logs every run of a task at INFO; the console refresh runs every few
# seconds, so its lines would bury the rest.
LOGGING.setdefault("filters", {})["quiet_console_refresh"] = {"()": "apps.core.log_format.QuietConsoleRefresh"}
for _celery_logger in ("celery.app.trace", "celery.worker.strategy", "celery.beat"):
    LOGGING["loggers"][_celery_logger] = {"filters": ["quiet_console_refresh"]}
