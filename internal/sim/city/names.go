package city

// The word lists the generator draws names from. They are functions rather
// than package variables so that nothing in the package is mutable.

// districtNames lists the 20 districts, row by row from the south-west cell
// of the 5×4 district grid.
func districtNames() [districtRows * districtCols]string {
	return [...]string{
		"Harbor Point", "Seagate", "South Ferry", "Bayside", "Marina",
		"Westbrook", "Old Town", "Financial District", "Chinatown", "Eastwood",
		"Riverside", "Midtown", "Civic Center", "Murray Hill", "Fairview",
		"Northgate", "Hillcrest", "University Heights", "Lakeview", "Highbridge",
	}
}

// avenueNames names the avenues west of Broadway, nearest first.
func avenueNames() []string {
	return []string{
		"Madison", "Lexington", "Park", "Columbus", "Amsterdam", "Lafayette", "Hudson", "Washington",
		"Jefferson", "Monroe", "Lincoln", "Franklin", "Hamilton", "Jackson", "Adams", "Fulton",
		"Atlantic", "Pacific", "Bedford", "Nostrand", "Flatbush", "Myrtle", "Knickerbocker", "Wyckoff",
		"Putnam", "Gates", "Greene", "Lenox", "Delancey", "Clinton", "Stanton", "Orchard",
		"Ludlow", "Essex", "Varick", "Maple", "Oak", "Cedar", "Elm", "Pine",
		"Walnut", "Chestnut", "Spruce", "Willow", "Birch", "Hickory", "Magnolia", "Sycamore",
		"Poplar", "Juniper", "Linden", "Hawthorne", "Laurel", "Cypress", "Aspen", "Dogwood",
		"Sherman", "Sheridan", "Garfield", "Harrison",
	}
}

// surnames serve for business, residence, school and housing names.
func surnames() []string {
	return []string{
		"Abernathy", "Alvarez", "Baptiste", "Brennan", "Castillo", "Chen", "Delgado", "Dubois",
		"Eriksen", "Fitzgerald", "Gallagher", "Goldberg", "Haddad", "Halvorsen", "Ibrahim", "Jablonski",
		"Kaplan", "Kowalski", "Lindqvist", "Lombardi", "Mahoney", "Marchetti", "Nakamura", "Novak",
		"Okafor", "Olsen", "Patel", "Petrov", "Quinn", "Ramirez", "Rosenthal", "Santos",
		"Schmidt", "Sullivan", "Takahashi", "Thornton", "Usman", "Vasquez", "Weiss", "Yilmaz",
		"Zhang", "Morales", "Kim", "Nguyen", "O'Brien", "Russo", "Singh", "Washington",
	}
}

// firstNames serve for school names ("PS 41 Harriet Tubman").
func firstNames() []string {
	return []string{
		"Harriet", "Frederick", "Eleanor", "Langston", "Rosa", "Thurgood", "Clara", "Walt",
		"Emily", "Jackie", "Sonia", "Carl", "Grace", "Cesar", "Toni", "Louis",
	}
}

// businessKinds are the trades of private business owners.
func businessKinds() []string {
	return []string{
		"Deli", "Hardware", "Pharmacy", "Cafe", "Auto Repair", "Laundromat", "Dental", "Pizza",
		"Bakery", "Grocery", "Wine & Spirits", "Properties LLC", "Jewelers", "Florist", "Books", "Fitness",
		"Dry Cleaners", "Bank Branch", "Parking Garage", "Hotel",
	}
}

// businessSpots and residenceSpots are where private cameras look. The
// second value tells whether the spot is indoors.
func businessSpots() []spot {
	return []spot{
		{"front door", false}, {"storefront", false}, {"register", true}, {"rear alley", false},
		{"loading dock", false}, {"parking lot", false}, {"stockroom", true}, {"side entrance", false},
	}
}

func residenceSpots() []spot {
	return []spot{
		{"front door", false}, {"driveway", false}, {"backyard", false}, {"lobby", true},
		{"garage", false}, {"side gate", false}, {"package room", true}, {"stoop", false},
	}
}

// parkNames name the parks after the first one in each district, which is
// named for the district.
func parkNames() []string {
	return []string{
		"Liberty", "Memorial", "Veterans", "Founders", "Harmony", "Heritage", "Jubilee", "Bayview",
		"Juniper Valley", "Cedar Grove", "Highland", "Sunset", "Union", "Lincoln", "Marcus Garvey", "Sara Roosevelt",
	}
}

func parkSpots() []spot {
	return []spot{
		{"north entrance", false}, {"south entrance", false}, {"east gate", false}, {"west gate", false},
		{"playground", false}, {"dog run", false}, {"basketball courts", false}, {"boathouse", false},
		{"main lawn", false}, {"fountain", false}, {"bandshell", false}, {"comfort station", false},
	}
}

func schoolSpots() []spot {
	return []spot{
		{"main entrance", false}, {"schoolyard", false}, {"gymnasium", true}, {"cafeteria", true},
		{"rear exit", false}, {"drop-off zone", false},
	}
}

func stationSpots() []spot {
	return []spot{
		{"street entrance NE", false}, {"street entrance SW", false}, {"mezzanine", true},
		{"uptown platform", true}, {"downtown platform", true}, {"turnstiles", true}, {"elevator", true},
	}
}

func housingSpots() []spot {
	return []spot{
		{"Bldg 1 lobby", true}, {"Bldg 2 lobby", true}, {"Bldg 3 lobby", true}, {"courtyard", false},
		{"parking lot", false}, {"laundry room", true}, {"playground", false}, {"rear entrance", false},
	}
}

func fireSpots() []spot {
	return []spot{{"apparatus bay", true}, {"front apron", false}, {"rear lot", false}}
}

func precinctSpots() []spot {
	return []spot{{"front entrance", false}, {"sally port", false}, {"parking lot", false}, {"lobby", true}}
}

// models are camera vendors and models, for the vendor and model labels.
func models() [][2]string {
	return [][2]string{
		{"axis", "p3265-lve"}, {"axis", "q6135-le"}, {"axis", "m3106-l"}, {"hanwha", "xnv-8080r"},
		{"hanwha", "xnp-6400r"}, {"bosch", "flexidome-5100i"}, {"bosch", "autodome-7100i"}, {"vivotek", "fd9389-hv"},
		{"mobotix", "m16"}, {"avigilon", "h5a-dome"}, {"i-pro", "wv-s2136l"}, {"reolink", "rlc-810a"},
	}
}

func usernames() []string { return []string{"admin", "viewer", "argus", "service", "operator"} }
