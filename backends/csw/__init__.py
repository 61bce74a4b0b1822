"""CSW 2.0.2 catalogs (GeoNetwork, pycsw...): records asked as DCAT (`csw-dcat`) or ISO 19139 (`csw-iso-19139`)."""
