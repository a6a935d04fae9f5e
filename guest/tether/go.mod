module bonneville/guest/tether

go 1.19
