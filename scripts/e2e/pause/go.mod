module soracom-esim-operator/pause

go 1.22
