package catalog

// Data lists for the synthetic event generator. Everything here is
// invented or generic: people's names are common given names and surnames,
// places are real localities with their real postcodes, and market
// participant and network codes are plausible stand-ins, not an
// authoritative registry. Phone numbers come from ranges reserved for
// fiction (Ofcom 07700 900xxx, the ACMA's fictitious 0491 570 numbers) or
// are random (New Zealand), and email
// addresses use the reserved example domains (RFC 2606).

var synTitles = []string{"Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"}

// synAUMobiles are mobile numbers the ACMA lists for use in fiction.
var synAUMobiles = []string{
	"+61491570006", "+61491570110", "+61491570156", "+61491570157",
	"+61491570158", "+61491570159", "+61491570313", "+61491570737",
}

var synExampleDomains = []string{"example.com", "example.net", "example.org"}

// UK (Junifer).

var synUKFirst = []string{
	"Oliver", "George", "Harry", "Jack", "Noah", "Leo", "Arthur", "Muhammad", "Oscar", "Charlie",
	"Thomas", "James", "William", "Daniel", "Samuel", "Callum", "Rhys", "Euan", "Ravi", "Tomasz",
	"Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily",
	"Eleanor", "Charlotte", "Hannah", "Chloe", "Siobhan", "Niamh", "Priya", "Aisha", "Zofia", "Megan",
}

var synUKLast = []string{
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
	"Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
	"Patel", "Khan", "Ahmed", "Singh", "Begum", "Hughes", "Edwards", "Campbell", "MacDonald", "Murphy",
	"O'Neill", "Kowalski", "Whitfield", "Barker", "Fletcher", "Holloway", "Ashworth", "Pennington", "Lloyd", "Morgan",
}

var synUKStreets = []string{
	"Elm Grove", "Station Road", "Church Lane", "Victoria Street", "Park Avenue", "Mill Lane",
	"Queens Road", "Manor Way", "Kingsway", "Orchard Close", "Beech Drive", "Greenfield Road",
	"Albert Terrace", "Chapel Street", "Highfield Road", "Meadow View", "The Crescent", "Willow Walk",
}

// synUKTown is a UK post town with its county and some of its real
// postcode districts (the outward code); the inward code is generated.
type synUKTown struct {
	locality, town, county string
	districts              []string
}

var synUKTowns = []synUKTown{
	{"Headingley", "Leeds", "West Yorkshire", []string{"LS6", "LS16"}},
	{"Chapel Allerton", "Leeds", "West Yorkshire", []string{"LS7"}},
	{"Didsbury", "Manchester", "Greater Manchester", []string{"M20"}},
	{"Chorlton", "Manchester", "Greater Manchester", []string{"M21"}},
	{"Kings Heath", "Birmingham", "West Midlands", []string{"B14"}},
	{"Clifton", "Bristol", "Avon", []string{"BS8"}},
	{"Jesmond", "Newcastle upon Tyne", "Tyne and Wear", []string{"NE2"}},
	{"Roath", "Cardiff", "South Glamorgan", []string{"CF24"}},
	{"Morningside", "Edinburgh", "Midlothian", []string{"EH10"}},
	{"Partick", "Glasgow", "Lanarkshire", []string{"G11"}},
	{"Heavitree", "Exeter", "Devon", []string{"EX1"}},
	{"Headington", "Oxford", "Oxfordshire", []string{"OX3"}},
	{"Ecclesall", "Sheffield", "South Yorkshire", []string{"S11"}},
	{"Southsea", "Portsmouth", "Hampshire", []string{"PO4", "PO5"}},
	{"Wavertree", "Liverpool", "Merseyside", []string{"L15"}},
	{"West Bridgford", "Nottingham", "Nottinghamshire", []string{"NG2"}},
	{"Brixton", "London", "", []string{"SW2", "SW9"}},
	{"Walthamstow", "London", "", []string{"E17"}},
}

// synUKDistributors are MPAN core distributor ids (first two digits) of
// the 14 GB distribution areas.
var synUKDistributors = []string{"10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23"}

var synUKSuppliers = []string{
	"British Gas", "EDF Energy", "E.ON Next", "OVO Energy", "Octopus Energy",
	"Scottish Power", "So Energy", "Utility Warehouse",
}

var synUKObjectionReasons = []string{"Debt", "Debt", "Debt", "Contractual", "Related Meter Point"}

var synUKBusinessStems = []string{
	"Oakwood", "Riverside", "Northgate", "Harbour", "Kestrel", "Foxglove", "Ironbridge", "Bluebell", "Granite", "Saltmarsh",
}

var synUKBusinessKinds = []string{
	"Bakery", "Joinery", "Dental Practice", "Cafe", "Motors", "Print Works", "Florist", "Veterinary Surgery", "Brewing Co", "Fitness",
}

// synTicketDef is a Junifer ticket definition used in the live phase.
type synTicketDef struct{ code, name, summary string }

var synUKTickets = []synTicketDef{
	{"METER_READ_QUERY", "Meter Reading Query", "Customer disputes estimated reading"},
	{"BILL_QUERY", "Billing Query", "Customer queries bill amount"},
	{"SMART_INSTALL", "Smart Meter Installation", "Smart meter installation appointment"},
	{"PAYMENT_PLAN", "Payment Plan Request", "Customer requests a payment plan"},
	{"METER_FAULT", "Meter Fault", "Meter display blank"},
	{"TARIFF_CHANGE", "Tariff Change Request", "Customer asks to change tariff"},
}

// AU and NZ (Velocity).

var synAUFirst = []string{
	"Jack", "Oliver", "William", "Lachlan", "Thomas", "Liam", "Noah", "Cooper", "Mitchell", "Hamish",
	"Minh", "Arjun", "Nikos", "Marco", "Wei",
	"Charlotte", "Olivia", "Mia", "Chloe", "Ruby", "Isla", "Matilda", "Zoe", "Sienna", "Harriet",
	"Linh", "Priya", "Eleni", "Giulia", "Mei",
}

var synAULast = []string{
	"Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White",
	"Anderson", "Walker", "Thompson", "Kelly", "Ryan", "O'Brien", "Murphy", "Singh", "Chen", "Papadopoulos",
	"Rossi", "Tran", "Campbell", "Stewart", "McKenzie",
}

var synNZFirst = []string{
	"Aroha", "Wiremu", "Mere", "Tama", "Hemi", "Ngaio", "Manaia", "Anahera", "Rāwiri", "Kahu",
	"Sione", "Losa", "Mele", "Tevita",
	"James", "Sophie", "Hunter", "Olivia", "Lucas", "Isla", "Mason", "Amelia", "Liam", "Charlotte",
	"Arjun", "Mei",
}

var synNZLast = []string{
	"Ngata", "Parata", "Tipene", "Walker", "Te Whata", "Tūhoe", "Horomona", "Tuilagi", "Fifita", "Tupou",
	"Smith", "Wilson", "Williams", "Brown", "Taylor", "Thompson", "Anderson", "Campbell", "Patel", "Li",
}

var synAUStreets = []string{
	"Wattle St", "Banksia Ave", "King St", "George St", "Station St", "Church St", "Railway Pde",
	"Jacaranda Cres", "Ocean View Rd", "Bottlebrush Ct", "High St", "Victoria Rd", "Waratah Ave", "Gum Tree Dr",
}

var synNZStreets = []string{
	"Kowhai Rd", "Pohutukawa Ave", "Queen St", "Ponsonby Rd", "Cuba St", "Riccarton Rd", "Rimu St",
	"Totara Cres", "Harbour View Rd", "Rata St", "Manuka Way", "Beach Rd", "Kauri Pl", "Tui Gr",
}

// synLocality is an AU or NZ locality with its real postcode and the
// network that serves it.
type synLocality struct {
	suburb, city, state, postcode string
	tz                            synZone
	network                       *synNetwork
}

// synNetwork is an electricity distributor: AU networks carry a plausible
// NMI prefix (the first 4 of the 10 NMI characters), NZ networks a
// 2-letter ICP distributor code.
type synNetwork struct {
	name    string
	prefix  string
	tariffs []string
	gasAlso bool
}

var (
	synAusgrid     = &synNetwork{"AUSGRID", "4102", []string{"EA025", "EA010", "EA116"}, false}
	synEndeavour   = &synNetwork{"ENDEAVOUR", "4310", []string{"N70", "N71", "N73"}, false}
	synEssential   = &synNetwork{"ESSENTIAL", "4001", []string{"BLNN2AU", "BLNT3AU"}, false}
	synCitipower   = &synNetwork{"CITIPOWER", "6102", []string{"C1R", "CTOU"}, false}
	synPowercor    = &synNetwork{"POWERCOR", "6203", []string{"D1", "DTOU"}, false}
	synJemena      = &synNetwork{"JEMENA", "6001", []string{"A100", "A10X"}, false}
	synUnited      = &synNetwork{"UNITED", "6407", []string{"URES", "UTOU"}, false}
	synAusnet      = &synNetwork{"AUSNET", "6305", []string{"NEE11", "NEE12"}, false}
	synEnergex     = &synNetwork{"ENERGEX", "3114", []string{"3900", "6900", "8400"}, false}
	synErgon       = &synNetwork{"ERGON", "3051", []string{"T11", "T12"}, false}
	synEvoenergy   = &synNetwork{"EVOENERGY", "7001", []string{"015", "017"}, false}
	synTasnetworks = &synNetwork{"TASNETWORKS", "8000", []string{"TAS31", "TAS93"}, false}

	synVector     = &synNetwork{"VECTOR", "VC", []string{"ADOM", "ALD"}, true}
	synWell       = &synNetwork{"WELL", "NR", []string{"WEL-RLU", "WEL-RSTD"}, true}
	synOrion      = &synNetwork{"ORION", "CK", []string{"RLU", "RSTD"}, true}
	synWelNet     = &synNetwork{"WEL", "WN", []string{"WEL-DOM", "WEL-LU"}, false}
	synUnison     = &synNetwork{"UNISON", "UN", []string{"UNI-LU", "UNI-STD"}, false}
	synPowerco    = &synNetwork{"POWERCO", "PC", []string{"PCO-LU", "PCO-STD"}, true}
	synNorthpower = &synNetwork{"NORTHPOWER", "NP", []string{"NPL-LU", "NPL-STD"}, false}
	synAurora     = &synNetwork{"AURORA", "AU", []string{"AUR-LU", "AUR-STD"}, false}
)

var synAULocalities = []synLocality{
	{"Newtown", "Sydney", "NSW", "2042", synZoneAUEast, synAusgrid},
	{"Marrickville", "Sydney", "NSW", "2204", synZoneAUEast, synAusgrid},
	{"Manly", "Sydney", "NSW", "2095", synZoneAUEast, synAusgrid},
	{"Parramatta", "Sydney", "NSW", "2150", synZoneAUEast, synEndeavour},
	{"Penrith", "Sydney", "NSW", "2750", synZoneAUEast, synEndeavour},
	{"Wagga Wagga", "Wagga Wagga", "NSW", "2650", synZoneAUEast, synEssential},
	{"Dubbo", "Dubbo", "NSW", "2830", synZoneAUEast, synEssential},
	{"Fitzroy", "Melbourne", "VIC", "3065", synZoneAUEast, synCitipower},
	{"Richmond", "Melbourne", "VIC", "3121", synZoneAUEast, synCitipower},
	{"Geelong", "Geelong", "VIC", "3220", synZoneAUEast, synPowercor},
	{"Ballarat Central", "Ballarat", "VIC", "3350", synZoneAUEast, synPowercor},
	{"Coburg", "Melbourne", "VIC", "3058", synZoneAUEast, synJemena},
	{"Frankston", "Melbourne", "VIC", "3199", synZoneAUEast, synUnited},
	{"Box Hill", "Melbourne", "VIC", "3128", synZoneAUEast, synUnited},
	{"Traralgon", "Traralgon", "VIC", "3844", synZoneAUEast, synAusnet},
	{"Paddington", "Brisbane", "QLD", "4064", synZoneBrisbane, synEnergex},
	{"Chermside", "Brisbane", "QLD", "4032", synZoneBrisbane, synEnergex},
	{"Southport", "Gold Coast", "QLD", "4215", synZoneBrisbane, synEnergex},
	{"Townsville City", "Townsville", "QLD", "4810", synZoneBrisbane, synErgon},
	{"Cairns North", "Cairns", "QLD", "4870", synZoneBrisbane, synErgon},
	{"Braddon", "Canberra", "ACT", "2612", synZoneAUEast, synEvoenergy},
	{"Belconnen", "Canberra", "ACT", "2617", synZoneAUEast, synEvoenergy},
	{"Sandy Bay", "Hobart", "TAS", "7005", synZoneAUEast, synTasnetworks},
	{"Launceston", "Launceston", "TAS", "7250", synZoneAUEast, synTasnetworks},
}

var synNZLocalities = []synLocality{
	{"Ponsonby", "Auckland", "Auckland", "1011", synZoneNZ, synVector},
	{"Mount Eden", "Auckland", "Auckland", "1024", synZoneNZ, synVector},
	{"Papatoetoe", "Auckland", "Auckland", "2025", synZoneNZ, synVector},
	{"Te Aro", "Wellington", "Wellington", "6011", synZoneNZ, synWell},
	{"Karori", "Wellington", "Wellington", "6012", synZoneNZ, synWell},
	{"Petone", "Lower Hutt", "Wellington", "5012", synZoneNZ, synWell},
	{"Riccarton", "Christchurch", "Canterbury", "8011", synZoneNZ, synOrion},
	{"Papanui", "Christchurch", "Canterbury", "8053", synZoneNZ, synOrion},
	{"Hamilton East", "Hamilton", "Waikato", "3216", synZoneNZ, synWelNet},
	{"Havelock North", "Hastings", "Hawke's Bay", "4130", synZoneNZ, synUnison},
	{"Westown", "New Plymouth", "Taranaki", "4310", synZoneNZ, synPowerco},
	{"Hokowhitu", "Palmerston North", "Manawatū-Whanganui", "4410", synZoneNZ, synPowerco},
	{"Kensington", "Whangārei", "Northland", "0112", synZoneNZ, synNorthpower},
	{"North East Valley", "Dunedin", "Otago", "9010", synZoneNZ, synAurora},
}

var synAURetailers = []string{"ENERGYAU", "ORIGIN", "AGLE", "REDENERGY", "ALINTA", "SIMPLY", "POWERSHOP", "LUMO", "MOMENTUM"}

var synNZRetailers = []string{"CONTACT", "MERIDIAN", "GENESIS", "MERCURY", "ORIGINNZ", "ELECTRICKIWI", "FLICK", "POWERSHOPNZ"}

var synVObjectionCodes = []string{"DEBT", "DEBT", "CONTRACT", "BADDATE"}

var synAUBusinessStems = []string{
	"Harbourside", "Bluegum", "Southern Cross", "Wattle", "Coastal", "Redback", "Bondi", "Outback", "Brunswick", "Riverina",
}

var synNZBusinessStems = []string{
	"Kowhai", "Tui", "Southern Alps", "Harbour", "Kauri", "Waitematā", "Fern", "Pukeko", "Rangitoto", "Kiwi",
}

var synBusinessKinds = []string{
	"Bakery", "Plumbing", "Cafe", "Dental", "Motors", "Landscaping", "Electrical", "Physio", "Print", "Brewing",
}

var synVOffers = []string{"FLEX", "SAVER", "FIXED", "GREEN"}
