package notice

import "github.com/consentd/consentd/config/i18n"

// Built-in defaults of the privacy notice: the standard texts of the data
// subject's rights and the supervisory authorities of the Nordic
// countries we serve first. A site file overrides any of them.

// defaultRights are the built-in texts of each right, per language.
var defaultRights = map[string]i18n.Text{
	RightAccess: {
		"fi": "Sinulla on oikeus saada tietää, käsitelläänkö henkilötietojasi, ja saada jäljennös tiedoistasi.",
		"sv": "Du har rätt att få veta om dina personuppgifter behandlas och att få en kopia av dina uppgifter.",
		"en": "You have the right to know whether your personal data is processed and to get a copy of it.",
	},
	RightRectification: {
		"fi": "Sinulla on oikeus vaatia virheellisten tai puutteellisten tietojesi korjaamista.",
		"sv": "Du har rätt att kräva att felaktiga eller ofullständiga uppgifter om dig rättas.",
		"en": "You have the right to have inaccurate or incomplete data about you corrected.",
	},
	RightErasure: {
		"fi": "Sinulla on oikeus pyytää tietojesi poistamista, kun niitä ei enää tarvita tai käsittelylle ei ole perustetta.",
		"sv": "Du har rätt att begära att dina uppgifter raderas när de inte längre behövs eller det inte finns grund för behandlingen.",
		"en": "You have the right to have your data erased when it is no longer needed or there is no basis for processing it.",
	},
	RightRestriction: {
		"fi": "Sinulla on oikeus pyytää tietojesi käsittelyn rajoittamista esimerkiksi sen ajaksi, kun tietojen paikkansapitävyyttä selvitetään.",
		"sv": "Du har rätt att begära att behandlingen av dina uppgifter begränsas, till exempel medan det utreds om uppgifterna är korrekta.",
		"en": "You have the right to have the processing of your data restricted, for example while its accuracy is being checked.",
	},
	RightPortability: {
		"fi": "Kun käsittely perustuu suostumukseen tai sopimukseen, sinulla on oikeus saada antamasi tiedot koneluettavassa muodossa ja siirtää ne toiselle rekisterinpitäjälle.",
		"sv": "När behandlingen grundar sig på samtycke eller avtal har du rätt att få de uppgifter du lämnat i maskinläsbar form och överföra dem till en annan personuppgiftsansvarig.",
		"en": "When processing is based on consent or a contract, you have the right to receive the data you provided in a machine-readable format and to transfer it to another controller.",
	},
	RightObjection: {
		"fi": "Kun käsittely perustuu oikeutettuun etuun tai yleisen edun mukaiseen tehtävään, sinulla on oikeus vastustaa tietojesi käsittelyä erityisessä tilanteessasi.",
		"sv": "När behandlingen grundar sig på berättigat intresse eller en uppgift av allmänt intresse har du rätt att invända mot behandlingen på grund av din särskilda situation.",
		"en": "When processing is based on legitimate interests or a task in the public interest, you have the right to object to it on grounds relating to your particular situation.",
	},
	RightDirectMarketing: {
		"fi": "Sinulla on oikeus milloin tahansa kieltää tietojesi käsittely suoramarkkinointia varten, myös siihen liittyvä profilointi. Kiellon jälkeen tietojasi ei enää käsitellä tähän tarkoitukseen.",
		"sv": "Du har rätt att när som helst förbjuda att dina uppgifter behandlas för direktmarknadsföring, inklusive profilering som hänger samman med den. Efter förbudet behandlas dina uppgifter inte längre för detta ändamål.",
		"en": "You have the right to object at any time to the processing of your data for direct marketing, including profiling related to it. After that, your data is no longer processed for this purpose.",
	},
	RightWithdrawConsent: {
		"fi": "Kun käsittely perustuu suostumukseen, voit peruuttaa suostumuksesi milloin tahansa. Peruutus ei vaikuta ennen sitä tehdyn käsittelyn lainmukaisuuteen.",
		"sv": "När behandlingen grundar sig på samtycke kan du när som helst återkalla ditt samtycke. Återkallelsen påverkar inte lagligheten av behandlingen innan dess.",
		"en": "When processing is based on consent, you may withdraw your consent at any time. This does not affect the lawfulness of processing before the withdrawal.",
	},
	RightAutomated: {
		"fi": "Sinulla on oikeus olla joutumatta pelkästään automaattiseen käsittelyyn perustuvan päätöksen kohteeksi, jos päätöksellä on sinua koskevia oikeusvaikutuksia tai se vaikuttaa sinuun vastaavalla tavalla merkittävästi.",
		"sv": "Du har rätt att inte bli föremål för ett beslut som enbart grundas på automatiserad behandling, om beslutet har rättsliga följder för dig eller på liknande sätt påverkar dig i betydande grad.",
		"en": "You have the right not to be subject to a decision based solely on automated processing that has legal effects on you or similarly significantly affects you.",
	},
	RightComplaint: {
		"fi": "Sinulla on oikeus tehdä valitus valvontaviranomaiselle, jos katsot, että henkilötietojesi käsittelyssä rikotaan tietosuoja-asetusta.",
		"sv": "Du har rätt att lämna in ett klagomål till tillsynsmyndigheten om du anser att behandlingen av dina personuppgifter strider mot dataskyddsförordningen.",
		"en": "You have the right to lodge a complaint with a supervisory authority if you consider that the processing of your personal data infringes the GDPR.",
	},
}

// DefaultRightText returns the built-in text of a right (one of
// RightKeys).
func DefaultRightText(right string) i18n.Text { return defaultRights[right] }

// defaultAuthorities are the supervisory authorities by country.
var defaultAuthorities = map[string]Authority{
	"FI": {
		Name: i18n.Text{
			"fi": "Tietosuojavaltuutetun toimisto",
			"sv": "Dataombudsmannens byrå",
			"en": "Office of the Data Protection Ombudsman",
		},
		Address: "PL 800, 00531 Helsinki",
		Phone:   "029 566 6700",
		Email:   "tietosuoja@om.fi",
		URL:     "https://tietosuoja.fi",
	},
	"SE": {
		Name: i18n.Text{
			"fi": "Integritetsskyddsmyndigheten (IMY)",
			"sv": "Integritetsskyddsmyndigheten (IMY)",
			"en": "Swedish Authority for Privacy Protection (IMY)",
		},
		Address: "Box 8114, 104 20 Stockholm",
		Phone:   "08-657 61 00",
		Email:   "imy@imy.se",
		URL:     "https://www.imy.se",
	},
}

// Authority returns the supervisory authority a complaint goes to: the
// notice's ComplaintAuthority when set, else the built-in one of country
// (the controller's, see Notice.Country). ok is false when there is
// neither.
func (n *Notice) Authority(country string) (a Authority, ok bool) {
	if n.ComplaintAuthority != nil {
		return *n.ComplaintAuthority, true
	}
	a, ok = defaultAuthorities[country]
	return a, ok
}

// RightText returns the text shown for a right and whether the right
// applies: the notice's override where given, else the built-in text.
func (n *Notice) RightText(right string) (text i18n.Text, applies bool) {
	o, has := n.Rights[right]
	applies = !has || o.Applies == nil || *o.Applies
	if has && len(o.Text) > 0 {
		return o.Text, applies
	}
	return defaultRights[right], applies
}
