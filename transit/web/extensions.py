"""Flask extensions, created once and bound to the app in the factory."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from transit.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
