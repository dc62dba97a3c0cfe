module dvm.local/clusters/pause

go 1.24.0
